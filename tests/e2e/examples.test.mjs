// The connector examples end to end: each example's run.sh starts what it needs (the mock Kafka
// cluster, a redis-server or a MariaDB on loopback ports the OS picks), produces its input, runs
// the job with `sluice run` and prints what arrived; these tests check that output against the
// example's input. A script that overruns is stopped with its whole process group (its EXIT
// trap stops the servers it started).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, SLUICE } from "./harness.mjs";

const MOCK = process.env.SLUICE_KAFKA_MOCK ?? join(REPO, "build/connectors/kafka/tools/sluice-kafka-mock");
const running = new Set();

/** Runs an example's script in its own process group; resolves to { code, stdout, stderr }. */
function runExample(name, timeoutMs = 240000) {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(REPO, "examples", name, "run.sh")], {
      detached: true,
      env: { ...process.env, SLUICE_BIN: SLUICE, SLUICE_KAFKA_MOCK: MOCK },
    });
    running.add(child);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      stopGroup(child);
      reject(new Error(`examples/${name}/run.sh did not end within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

function stopGroup(child) {
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;  // already gone
  }
  setTimeout(() => {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // gone
    }
  }, 10000).unref();
}

after(() => {
  for (const child of running) stopGroup(child);
});

/** The messages of an example's input file (sluice-kafka-mock produce --json lines). */
function messages(name, file) {
  return readFileSync(join(REPO, "examples", name, file), "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

test("kafka-windowed-redis: per page and 10 s window of the messages' timestamps, the clicks in Redis", async () => {
  const expected = new Map();
  for (const m of messages("kafka-windowed-redis", "clicks.jsonl")) {
    const start = Math.floor(m.timestamp / 10000) * 10000;
    const key = `clicks:${start} ${JSON.parse(m.value).page}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const run = await runExample("kafka-windowed-redis");
  assert.equal(run.code, 0, run.stderr);
  const got = run.stdout.split("\n").filter((line) => line.startsWith("clicks:"));
  const want = [...expected].map(([key, n]) => `${key} ${n}`).sort();
  assert.ok(want.length >= 16, "the input spans several windows and pages");
  assert.deepEqual(got, want, run.stderr);
});

test("kafka-enrich-mysql: every order upserted with its customer's region, tier and total", async () => {
  const customers = { alice: ["eu", "gold"], bob: ["us", "silver"], carol: ["apac", "gold"] };
  const discounts = { gold: 0.1, silver: 0.05 };
  const expected = messages("kafka-enrich-mysql", "orders.jsonl")
    .map((m) => JSON.parse(m.value))
    .sort((a, b) => a.id - b.id)
    .map((o) => {
      const [region, tier] = customers[o.customer] ?? ["unknown", "none"];
      const total = Math.round(o.amount * (1 - (discounts[tier] ?? 0)) * 1.2 * 100) / 100;
      return [o.id, o.customer, region, tier, total.toFixed(2), o.items];
    });
  const run = await runExample("kafka-enrich-mysql");
  assert.equal(run.code, 0, run.stderr);
  const rows = run.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => {
      const [id, customer, region, tier, total, items] = line.split("\t");
      return [Number(id), customer, region, tier, total, JSON.parse(items)];
    });
  assert.equal(rows.length, 30);
  assert.ok(rows.some((r) => r[2] === "unknown") && rows.some((r) => r[3] === "gold"));
  assert.deepEqual(rows, expected, run.stderr);
});
