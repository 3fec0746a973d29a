// Coordinator failover: a keyed, windowed job reads Kafka (librdkafka's mock cluster) and writes
// window counts to MariaDB through the exactly-once MySQL sink, on two worker processes, while
// its coordinator is (1) SIGKILLed and restarted on the same data dir and address, (2) SIGKILLed
// with a standby coordinator elected through etcd taking over, (3) SIGSTOPped until the standby
// took over, then SIGCONTed (the old leader is fenced off and stops). Each time the job resumes
// from its latest completed checkpoint and the table ends up exactly as a run without failures
// would leave it; `sluice list` and `status` answer throughout. The time from the coordinator's
// death to the job running again is printed (bench/RESULTS.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, SLUICE, makeProject, sluice, waitForStatus } from "./harness.mjs";
import { freePort, poll, startEtcd, startMariaDb } from "./servers.mjs";

const MOCK = process.env.SLUICE_KAFKA_MOCK ?? join(REPO, "build/connectors/kafka/tools/sluice-kafka-mock");
const BASE = 1700000000000;
const PARTITIONS = 4;
const KEYS = 13;
const ROUNDS = 12;
const PER_ROUND = 1000;

let db;
let etcd;
const processes = [];
const procs = []; // with their output, for failure messages
const cleanups = [];

before(async () => {
  db = await startMariaDb();
  // The job names its password by variable (passwordEnv): the coordinator stores specs with their
  // inline secrets redacted, so only a referenced password survives a coordinator restart.
  process.env.SLUICE_FAILOVER_DB_PASSWORD = db.password;
  etcd = await startEtcd();
});

after(async () => {
  for (const child of processes) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
    }
  }
  await db?.destroy();
  await etcd?.destroy();
  for (const cleanup of cleanups) cleanup();
});

/** Starts `cmd args`, keeping its output; resolves once the output matches `ready`. */
function start(file, args, ready, what) {
  return new Promise((resolve, reject) => {
    // Info logs: the tests follow elections by them ("leads with epoch", "is a standby").
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, SLUICE_LOG: "info" } });
    processes.push(child);
    const proc = { child, output: "", match: null, what };
    procs.push(proc);
    const timer = setTimeout(() => reject(new Error(`${what} not ready in 20 s:\n${proc.output}`)), 20000);
    const onData = (d) => {
      proc.output += d;
      if (proc.match === null) {
        const match = proc.output.match(ready);
        if (match) {
          proc.match = match;
          clearTimeout(timer);
          resolve(proc);
        }
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (proc.match === null) reject(new Error(`${what} exited with ${code}:\n${proc.output}`));
    });
  });
}

const exited = (child) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once("exit", (code) => resolve(code)));

async function startMock() {
  const proc = await start(MOCK, ["serve", "--topic", `events:${PARTITIONS}`], /bootstrap (\S+)\n/, "kafka mock");
  return proc.match[1];
}

function produce(bootstrap, messages) {
  return new Promise((resolve, reject) => {
    const child = spawn(MOCK, ["produce", "--bootstrap", bootstrap, "--topic", "events", "--json"]);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`produce failed: ${stderr}`))));
    child.stdin.end(messages.map((m) => JSON.stringify(m)).join("\n") + "\n");
  });
}

function events(first, n) {
  const out = [];
  for (let i = first; i < first + n; i++) {
    const k = `k${i % KEYS}`;
    out.push({ key: k, value: JSON.stringify({ k, i }), partition: i % PARTITIONS, timestamp: BASE + i });
  }
  return out;
}

function coordinatorArgs(listen, dataDir, extra = []) {
  return ["coordinator", "--listen", listen, "--data-dir", dataDir, "--worker-timeout", "2000", ...extra];
}

async function startCoordinator(listen, dataDir, extra = [], ready = /coordinator listening on/) {
  return start(SLUICE, coordinatorArgs(listen, dataDir, extra), ready, `coordinator ${listen}`);
}

async function startWorkers(coordinators, n = 2) {
  for (let i = 0; i < n; i++) {
    await start(SLUICE, ["worker", "--coordinator", coordinators, "--slots", "2"], /worker worker-\d+ serving on/, `worker ${i}`);
  }
}

const completed = (text) => Number(text.match(/checkpoints: (\d+) completed/)?.[1] ?? 0);
const runningAgain = (text) =>
  /state:\s+running/.test(text) && /resumes: 1 /.test(text) && (text.match(/#\d+\s+running/g) ?? []).length === 4;

async function submitJob(bootstrap, table, coordinators) {
  await db.query(`CREATE TABLE ${table} (k VARCHAR(16) NOT NULL, wstart BIGINT NOT NULL, n BIGINT NOT NULL)`);
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("failover", { parallelism: 2, checkpointInterval: 300 });
job.source(sources.kafka<{ k: string; i: number }>({
    brokers: ${JSON.stringify(bootstrap)}, topics: ["events"], format: "json",
    watermarks: { maxOutOfOrderness: 0 },
  }))
  .keyBy((r) => r.k)
  .window(windows.tumbling(1000))
  .count()
  .sink(sinks.mysql({
    host: "127.0.0.1", port: ${db.port}, user: ${JSON.stringify(db.user)},
    passwordEnv: "SLUICE_FAILOVER_DB_PASSWORD", database: ${JSON.stringify(db.database)},
    guarantee: "exactly-once",
    statement: "INSERT INTO ${table} (k, wstart, n) VALUES (?, ?, ?)",
    params: (r: any) => [r.key, r.window.start, r.value],
  }), { name: "counts-table" });
export default job;
`,
  });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", coordinators], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    return submitted.stdout.trim();
  } finally {
    project.cleanup();
  }
}

/**
 * Runs the job over ROUNDS rounds of events; after round 4 (once two checkpoints completed)
 * calls `disrupt()`, which kills the coordinator and resolves once the job runs again. Then
 * checks the table holds exactly the window counts of a run without failures.
 */
async function runWithDisruption(table, coordinators, bootstrap, disrupt) {
  const id = await submitJob(bootstrap, table, coordinators);
  let recovery;
  for (let round = 0; round < ROUNDS; round++) {
    await produce(bootstrap, events(round * PER_ROUND, PER_ROUND));
    await new Promise((r) => setTimeout(r, 200));
    if (round === 4) {
      await waitForStatus(id, coordinators, (text) => completed(text) >= 2 && /state:\s+running/.test(text), 60000);
      recovery = await disrupt(id);
    }
  }
  const total = ROUNDS * PER_ROUND;
  await produce(bootstrap, [...Array(PARTITIONS).keys()].map((p) => ({
    key: "end", value: JSON.stringify({ k: "end", i: -1 }), partition: p, timestamp: BASE + total + 10000,
  })));
  const expected = new Map();
  for (let i = 0; i < total; i++) {
    const key = `k${i % KEYS} ${BASE + Math.floor(i / 1000) * 1000}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  await poll("every window in the table", async () => {
    const sum = Number((await db.query(`SELECT COALESCE(SUM(n), 0) FROM ${table}`))[0][0]);
    return { ok: sum >= total, sum, total };
  }, 90000, 250);
  // Two more checkpoints: anything a replay would write twice would be there by now.
  const now = completed((await sluice(["status", id, "-c", coordinators])).stdout);
  await waitForStatus(id, coordinators, (text) => completed(text) >= now + 2, 30000);
  const seen = new Map();
  for (const [k, wstart, n] of await db.query(`SELECT k, wstart, n FROM ${table}`)) {
    const key = `${k} ${wstart}`;
    assert.ok(!seen.has(key), `window ${key} written twice`);
    seen.set(key, Number(n));
  }
  assert.equal(seen.size, expected.size);
  for (const [key, n] of expected) assert.equal(seen.get(key), n, `window ${key}`);
  const cancel = await sluice(["cancel", id, "-c", coordinators]);
  assert.equal(cancel.code, 0, cancel.stderr);
  return recovery;
}

/** Runs `body`, then kills every process it started (the next test starts its own). */
async function scenario(body) {
  const mark = processes.length;
  try {
    return await body();
  } finally {
    for (const child of processes.slice(mark)) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
        await exited(child);
      }
    }
  }
}

function tempDir(name) {
  const dir = mkdtempSync(join(tmpdir(), name));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("a coordinator SIGKILLed and restarted on its data dir resumes the job exactly", { timeout: 240000 }, () => scenario(async () => {
  const bootstrap = await startMock();
  const dataDir = tempDir("sluice-failover-");
  const listen = `127.0.0.1:${await freePort()}`;
  let coordinator = await startCoordinator(listen, dataDir);
  await startWorkers(listen);
  const recovery = await runWithDisruption("counts_restart", listen, bootstrap, async (id) => {
    const killedAt = Date.now();
    coordinator.child.kill("SIGKILL");
    await exited(coordinator.child);
    coordinator = await startCoordinator(listen, dataDir);
    const status = await waitForStatus(id, listen, runningAgain, 60000);
    const ms = Date.now() - killedAt;
    assert.match(status, /resumes: 1 \(attempt 1\)/);
    return ms;
  });
  console.log(`FAILOVER restart: ${recovery} ms from SIGKILL to the job running again`);
}));

test("with etcd, a standby takes over from a SIGKILLed leader and the job finishes exactly", { timeout: 240000 }, () => scenario(async () => {
  const bootstrap = await startMock();
  const dataDir = tempDir("sluice-failover-ha-");
  const a = `127.0.0.1:${await freePort()}`;
  const b = `127.0.0.1:${await freePort()}`;
  const ha = ["--ha", `etcd://${etcd.endpoint}`];
  const leader = await startCoordinator(a, dataDir, ha, /leads with epoch (\d+)/);
  const standby = await startCoordinator(b, dataDir, ha, /is a standby until elected/);
  const both = `${a},${b}`;
  await startWorkers(both);
  // The standby answers reads and refuses writes, naming the leader.
  const listed = await sluice(["list", "-c", b]);
  assert.equal(listed.code, 0, listed.stderr);
  const refused = await sluice(["cancel", "job-00000000", "-c", b]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, new RegExp(`standby; the leader is at ${a.replace(/\./g, "\\.")}`));
  const recovery = await runWithDisruption("counts_ha_kill", both, bootstrap, async (id) => {
    const killedAt = Date.now();
    leader.child.kill("SIGKILL");
    await waitForStatus(id, both, runningAgain, 60000).catch((error) => {
      const workers = procs.filter((p) => p.what.startsWith("worker")).slice(-2);
      throw new Error(`${error.message}\nstandby:\n${standby.output.slice(-3000)}\n` +
        workers.map((w) => `${w.what}:\n${w.output.slice(-3000)}`).join("\n"));
    });
    assert.match(standby.output, /leads with epoch/);
    return Date.now() - killedAt;
  });
  console.log(`FAILOVER standby: ${recovery} ms from SIGKILL of the leader to the job running again`);
}));

test("with etcd, a SIGSTOPped leader is fenced off when it wakes and nothing is committed twice", { timeout: 240000 }, () => scenario(async () => {
  const bootstrap = await startMock();
  const dataDir = tempDir("sluice-failover-stop-");
  const a = `127.0.0.1:${await freePort()}`;
  const b = `127.0.0.1:${await freePort()}`;
  const ha = ["--ha", `etcd://${etcd.endpoint}`];
  const leader = await startCoordinator(a, dataDir, ha, /leads with epoch (\d+)/);
  const standby = await startCoordinator(b, dataDir, ha, /is a standby until elected/);
  const both = `${a},${b}`;
  await startWorkers(both);
  await runWithDisruption("counts_ha_stop", both, bootstrap, async (id) => {
    const stoppedAt = Date.now();
    leader.child.kill("SIGSTOP");
    // `list` and `status` keep answering while the leader is paused and the standby takes over.
    while (!/leads with epoch/.test(standby.output)) {
      const list = await sluice(["list", "-c", both]);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(id));
      await new Promise((r) => setTimeout(r, 100));
    }
    await waitForStatus(id, both, runningAgain, 60000);
    const ms = Date.now() - stoppedAt;
    leader.child.kill("SIGCONT");
    // The old leader learns it was deposed and stops without acting (exit code 75).
    assert.equal(await exited(leader.child), 75, leader.output);
    assert.match(leader.output, /is no longer the leader/);
    return ms;
  });
}));

test("an error in user code fails the job at once with the user's line, unless it asks for restarts", () => scenario(async () => {
  const dataDir = tempDir("sluice-failover-user-");
  const listen = `127.0.0.1:${await freePort()}`;
  await startCoordinator(listen, dataDir);
  await startWorkers(listen, 1);
  const job = (name, restart) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("${name}", { parallelism: 1, checkpointInterval: 200${restart} });
job.source(sources.generator({ rate: 1000 }))
  .map((n: number) => (n > 50 ? (null as any).boom : n))
  .sink(sinks.discard());
export default job;
`;
  const project = makeProject({
    "plain.ts": job("plain", ""),
    "retried.ts": job("retried", ", restart: { attempts: 2, delay: 100 }"),
  });
  cleanups.push(project.cleanup);
  const submit = async (file) => {
    const submitted = await sluice(["submit", file, "-c", listen], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    return submitted.stdout.trim();
  };
  // Checkpoints give a job 10 restarts by default; a TypeError in a map is not retried.
  const plain = await waitForStatus(await submit("plain.ts"), listen, undefined, 30000);
  assert.match(plain, /state:\s+failed/);
  assert.match(plain, /TypeError/);
  assert.match(plain, /line \d+/);
  assert.match(plain, /not restarted: an error in the job's code is not retried/);
  assert.doesNotMatch(plain, /restarts:/);
  // A job that asks for restarts gets them.
  const retried = await waitForStatus(await submit("retried.ts"), listen, undefined, 30000);
  assert.match(retried, /state:\s+failed/);
  assert.match(retried, /restarts: 2/);
}));
