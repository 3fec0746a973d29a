// deploy/compose.yaml, checked without a container daemon: Debian's docker-compose validates
// it (`config -q`), and the resolved configuration has what the file promises: a coordinator,
// two workers, the checkpoint volume they all mount, and a `connectors` profile with Redis and
// MariaDB.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

const HERE = dirname(fileURLToPath(import.meta.url));
const COMPOSE = resolve(HERE, "../../deploy/compose.yaml");

function compose(file, args) {
  return new Promise((done) => {
    execFile("docker-compose", ["-f", file, ...args], { timeout: 60000 }, (error, stdout, stderr) => {
      if (error?.code === "ENOENT") throw new Error("docker-compose is not installed (scripts/install-deps.sh deploy)");
      done({ code: error ? error.code ?? 1 : 0, stdout, stderr });
    });
  });
}

test("docker-compose validates deploy/compose.yaml", async () => {
  const checked = await compose(COMPOSE, ["config", "-q"]);
  assert.equal(checked.code, 0, checked.stderr);
  const withConnectors = await compose(COMPOSE, ["--profile", "connectors", "config", "-q"]);
  assert.equal(withConnectors.code, 0, withConnectors.stderr);
});

test("a coordinator and two workers share the checkpoint volume; Redis and MariaDB sit in a profile", async () => {
  const resolved = await compose(COMPOSE, ["config"]);
  assert.equal(resolved.code, 0, resolved.stderr);
  const { services, volumes } = parse(resolved.stdout);
  assert.ok(volumes.checkpoints !== undefined && volumes["coordinator-data"] !== undefined);
  const mounts = (service) => (service.volumes ?? []).map((v) => (typeof v === "string" ? v : `${v.source}:${v.target}`));
  const coordinator = services.coordinator;
  assert.deepEqual(coordinator.command, ["coordinator"]);
  assert.equal(coordinator.environment.SLUICE_LISTEN, "0.0.0.0:7070");
  assert.equal(coordinator.environment.SLUICE_DATA_DIR, "/var/lib/sluice");
  assert.ok(mounts(coordinator).some((m) => m.startsWith("coordinator-data:/var/lib/sluice")), mounts(coordinator).join());
  for (const name of ["coordinator", "worker-1", "worker-2"]) {
    const service = services[name];
    assert.equal(service.profiles, undefined, `${name} starts by default`);
    assert.equal(service.environment.SLUICE_CHECKPOINT_DIR, "/checkpoints", name);
    assert.ok(mounts(service).some((m) => m.startsWith("checkpoints:/checkpoints")), `${name}: ${mounts(service).join()}`);
  }
  for (const name of ["worker-1", "worker-2"]) {
    const env = services[name].environment;
    assert.deepEqual(services[name].command, ["worker"]);
    assert.equal(env.SLUICE_COORDINATOR, "coordinator:7070");
    assert.equal(env.SLUICE_LISTEN, "0.0.0.0:7071");
    assert.equal(env.SLUICE_ADVERTISE, undefined, "workers advertise their container's address");
    assert.equal(env.SLUICE_METRICS_LISTEN, "0.0.0.0:9090");
    assert.match(services[name].healthcheck.test.join(" "), /\/readyz/);
  }
  assert.deepEqual(services.redis.profiles, ["connectors"]);
  assert.deepEqual(services.mariadb.profiles, ["connectors"]);
});

test("the validation fails on a broken file (the check itself can fail)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-compose-"));
  try {
    const broken = join(dir, "compose.yaml");
    writeFileSync(broken, readFileSync(COMPOSE, "utf8").replace("- checkpoints:/checkpoints", "- missing-volume:/checkpoints"));
    const checked = await compose(broken, ["config", "-q"]);
    assert.notEqual(checked.code, 0);
    assert.match(checked.stderr, /missing-volume/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
