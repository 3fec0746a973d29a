// The chaos test: a keyed, windowed job reading Kafka (librdkafka's mock cluster) and writing
// to MariaDB through the exactly-once MySQL sink, at parallelism 2 on three worker processes.
// While events keep arriving, a worker is killed with SIGKILL three times (and a fresh one
// started in its place); each time the job restarts from its last completed checkpoint. In the
// end the table holds exactly the window counts of a run without failures: nothing lost,
// nothing written twice.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, makeProject, sluice, startCluster, waitForStatus } from "./harness.mjs";
import { poll, startMariaDb } from "./servers.mjs";

const MOCK = process.env.SLUICE_KAFKA_MOCK ?? join(REPO, "build/connectors/kafka/tools/sluice-kafka-mock");
const BASE = 1700000000000; // event time of event 0 (Kafka timestamps)
const PARTITIONS = 4;
const KEYS = 13;

let mock;
let bootstrap;
let db;
let cluster;
let checkpointDir;

function startMock() {
  return new Promise((resolve, reject) => {
    const child = spawn(MOCK, ["serve", "--topic", `events:${PARTITIONS}`], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => reject(new Error(`mock cluster not ready:\n${output}`)), 20000);
    child.stdout.on("data", (d) => {
      output += d;
      const match = output.match(/bootstrap (\S+)\n/);
      if (match) {
        clearTimeout(timer);
        resolve({ child, bootstrap: match[1] });
      }
    });
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => reject(new Error(`mock cluster exited with ${code}:\n${output}`)));
  });
}

function produce(messages) {
  return new Promise((resolve, reject) => {
    const child = spawn(MOCK, ["produce", "--bootstrap", bootstrap, "--topic", "events", "--json"]);
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`produce failed: ${stderr}`))));
    child.stdin.end(messages.map((m) => JSON.stringify(m)).join("\n") + "\n");
  });
}

// Events first .. first+n-1: key k<i mod 13>, partition i mod 4, Kafka timestamp BASE + i.
function events(first, n) {
  const out = [];
  for (let i = first; i < first + n; i++) {
    const k = `k${i % KEYS}`;
    out.push({ key: k, value: JSON.stringify({ k, i }), partition: i % PARTITIONS, timestamp: BASE + i });
  }
  return out;
}

before(async () => {
  checkpointDir = mkdtempSync(join(tmpdir(), "sluice-chaos-"));
  ({ child: mock, bootstrap } = await startMock());
  db = await startMariaDb();
  await db.query("CREATE TABLE counts (k VARCHAR(16) NOT NULL, wstart BIGINT NOT NULL, n BIGINT NOT NULL)");
  cluster = await startCluster({
    workers: 3,
    slots: 2,
    coordinatorArgs: ["--checkpoint-dir", checkpointDir, "--worker-timeout", "2000"],
  });
});

after(async () => {
  await cluster?.stop();
  await db?.destroy();
  mock?.kill("SIGKILL");
  rmSync(checkpointDir, { recursive: true, force: true });
});

test("SIGKILLed workers: the sink's contents equal a run without failures", { timeout: 240000 }, async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("chaos", { parallelism: 2, checkpointInterval: 400, restart: { attempts: 20, delay: 200 } });
job.source(sources.kafka<{ k: string; i: number }>({
    brokers: ${JSON.stringify(bootstrap)}, topics: ["events"], format: "json",
    watermarks: { maxOutOfOrderness: 0 },
  }))
  .keyBy((r) => r.k)
  .window(windows.tumbling(1000))
  .count()
  .sink(sinks.mysql({
    host: "127.0.0.1", port: ${db.port}, user: ${JSON.stringify(db.user)},
    password: ${JSON.stringify(db.password)}, database: ${JSON.stringify(db.database)},
    guarantee: "exactly-once",
    statement: "INSERT INTO counts (k, wstart, n) VALUES (?, ?, ?)",
    params: (r: any) => [r.key, r.window.start, r.value],
  }), { name: "counts-table" });
export default job;
`,
  });
  let id;
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    id = submitted.stdout.trim();
  } finally {
    project.cleanup();
  }
  const completed = (text) => Number(text.match(/checkpoints: (\d+) completed/)?.[1] ?? 0);
  const restarts = (text) => Number(text.match(/restarts: (\d+)/)?.[1] ?? 0);

  const ROUNDS = 24;
  const PER_ROUND = 1500;
  let kills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await produce(events(round * PER_ROUND, PER_ROUND));
    await new Promise((r) => setTimeout(r, 250));
    if (round % 7 === 4) {
      // Kill a worker that runs tasks of the job, once a checkpoint completed since the last.
      const before = await waitForStatus(id, cluster.address, (text) => completed(text) > kills && /state:\s+running/.test(text), 60000);
      const busy = [...before.matchAll(/running\s+(worker-\d+)/g)].map((m) => m[1]);
      const index = cluster.workerIds.findIndex((w, i) => busy.includes(w) && cluster.processes[i + 1].exitCode === null && cluster.processes[i + 1].signalCode === null);
      assert.ok(index >= 0, before);
      cluster.processes[index + 1].kill("SIGKILL");
      kills++;
      await waitForStatus(id, cluster.address, (text) => restarts(text) >= kills && /state:\s+running/.test(text), 60000);
      await cluster.startWorker();
    }
  }
  assert.equal(kills, 3);
  const total = ROUNDS * PER_ROUND;
  // One more event per partition far in the future moves every watermark past the last window.
  await produce([...Array(PARTITIONS).keys()].map((p) => ({
    key: "end", value: JSON.stringify({ k: "end", i: -1 }), partition: p, timestamp: BASE + total + 10000,
  })));

  const expected = new Map();
  for (let i = 0; i < total; i++) {
    const key = `k${i % KEYS} ${BASE + Math.floor(i / 1000) * 1000}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const sumOf = async () => Number((await db.query("SELECT COALESCE(SUM(n), 0) FROM counts"))[0][0]);
  await poll("every window in the table", async () => {
    const sum = await sumOf();
    return { ok: sum >= total, sum, total };
  }, 90000, 250);
  // Two more checkpoints: anything a replay would write twice would be there by now.
  const now = completed((await sluice(["status", id, "-c", cluster.address])).stdout);
  const settled = await waitForStatus(id, cluster.address, (text) => completed(text) >= now + 2, 30000);
  const rows = await db.query("SELECT k, wstart, n FROM counts");
  const seen = new Map();
  for (const [k, wstart, n] of rows) {
    const key = `${k} ${wstart}`;
    assert.ok(!seen.has(key), `window ${key} written twice`);
    seen.set(key, Number(n));
  }
  assert.equal(seen.size, expected.size, settled);
  for (const [key, n] of expected) assert.equal(seen.get(key), n, `window ${key}`);
  const final = await sluice(["status", id, "-c", cluster.address]);
  assert.ok(restarts(final.stdout) >= kills, final.stdout);
  await sluice(["cancel", id, "-c", cluster.address]);
});
