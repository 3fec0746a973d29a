// Many tasks per job: a keyed job at parallelism 64 on four worker processes (4,096 channels,
// 3,072 of them between workers) gives exact results, and each worker's thread count stays
// bounded because every channel between two workers rides one multiplexed connection.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { startCluster, makeProject, sluice, waitForStatus } from "./harness.mjs";

const PARALLELISM = 64;
const WORKERS = 4;
const RECORDS = 256_000;
const KEYS = 997;
// Per worker: 32 task threads (one per task), about 25 fixed threads (gRPC, V8's platform,
// heartbeat, HTTP) and 4 per peer worker for the exchange (a writer and a reader per outgoing
// connection, a handler and a writer per incoming one). With a stream and a writer thread per
// channel this was 1,421.
const MAX_THREADS = 100;

let cluster;
before(async () => {
  cluster = await startCluster({ workers: WORKERS, slots: (2 * PARALLELISM) / WORKERS });
});
after(async () => {
  await cluster?.stop();
});

function threadsOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/^Threads:\s+(\d+)/m.exec(status)[1]);
}

test(`a keyed job at parallelism ${PARALLELISM} on ${WORKERS} workers is exact with under ${MAX_THREADS} threads a worker`, async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("scale", { parallelism: ${PARALLELISM}, params: { records: ${RECORDS}, keys: ${KEYS} } });
job.source(sources.generator({ count: job.params.records, fn: (i: number, p) => ({ key: "k" + ((i * 7919) % p.keys), n: 1 }) }))
  .keyBy((r) => r.key)
  .reduce((a, b) => ({ key: a.key, n: a.n + b.n }))
  .sink(sinks.file({ path: "counts.jsonl" }));
export default job;
`,
  });
  const workerPids = cluster.processes.slice(1).map((child) => child.pid);
  const peak = new Map(workerPids.map((pid) => [pid, 0]));
  const sample = () => {
    for (const pid of workerPids) peak.set(pid, Math.max(peak.get(pid), threadsOf(pid)));
  };
  const sampler = setInterval(sample, 50);
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    // Sampled while every task is deployed and connected.
    await waitForStatus(id, cluster.address, (text) => /state:\s+(running|finished|failed)/.test(text), 60000);
    sample();
    const status = await waitForStatus(id, cluster.address, undefined, 90000);
    assert.match(status, /state:\s+finished/, status);
    for (const worker of cluster.workerIds) assert.match(status, new RegExp(worker));
    clearInterval(sampler);

    const expected = new Map();
    for (let i = 0; i < RECORDS; i++) {
      const key = "k" + ((i * 7919) % KEYS);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    const final = new Map();
    let lines = 0;
    for (let s = 0; s < PARALLELISM; s++) {
      const file = join(project.dir, `counts.jsonl.${s}`);
      if (!existsSync(file)) continue;  // a subtask that got no key writes nothing
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (line === "") continue;
        lines++;
        const { key, n } = JSON.parse(line);
        final.set(key, Math.max(final.get(key) ?? 0, n));
      }
    }
    assert.equal(lines, RECORDS, "every update of every key arrives exactly once");
    assert.deepEqual(new Map([...final].sort()), new Map([...expected].sort()));

    const peaks = [...peak.values()];
    console.log(`peak threads per worker: ${peaks.join(", ")}`);
    for (const threads of peaks) assert.ok(threads > 32, `sampled a worker while its tasks ran (${threads})`);
    for (const threads of peaks) assert.ok(threads < MAX_THREADS, `a worker ran ${threads} threads: ${peaks.join(", ")}`);
  } finally {
    clearInterval(sampler);
    project.cleanup();
  }
});
