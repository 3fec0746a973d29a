// Checkpoint benchmarks (issue 6), printed as markdown rows:
//   1. throughput of a keyed running reduce with checkpoints every second against none
//      (`sluice run`, parallelism 1, CP_EVENTS records over CP_KEYS keys, median of CP_RUNS);
//   2. checkpoint duration with 1,000,000 keys of state (a cluster of one worker; the durations
//      `sluice status` reports once every key is in the state);
//   3. the time from a worker's death to resumed processing (two workers, --worker-timeout
//      2000; a worker SIGKILLed; time until the job runs again, minus the detection timeout).
//
//   node bench/checkpoints/checkpoints.mjs            (after scripts/build.sh)
//   CP_EVENTS=2000000 CP_RUNS=1 node bench/checkpoints/checkpoints.mjs
//   CP_COSTS=1000000,3000000 CP_SECONDS=30 node bench/checkpoints/checkpoints.mjs  (instead:
//     each checkpoint's sync and async parts and sizes, from `sluice status`, at those keys)
import { makeProject, sluice, startCluster, waitForStatus } from "../../tests/e2e/harness.mjs";

const EVENTS = Number(process.env.CP_EVENTS ?? 5000000);
const KEYS = Number(process.env.CP_KEYS ?? 100000);
const RUNS = Number(process.env.CP_RUNS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const reduceJob = ({ name, count, keys, interval, parallelism = 1, rate }) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("${name}", { parallelism: ${parallelism}${interval ? `, checkpointInterval: ${interval}` : ""} });
job.source(sources.generator({ ${count ? `count: ${count}, ` : ""}${rate ? `rate: ${rate}` : ""} }))
  .keyBy((i: number) => i % ${keys})
  .reduce((a: number, i: number) => a + i)
  .sink(sinks.discard());
export default job;
`;

async function throughput(interval) {
  const rates = [];
  for (let run = 0; run < RUNS; run++) {
    const project = makeProject({ "job.ts": reduceJob({ name: "cp-bench", count: EVENTS, keys: KEYS, interval }) });
    try {
      const result = await sluice(["run", "job.ts"], { cwd: project.dir });
      const match = result.stderr.match(/finished in (\d+) ms: (\d+) records in/);
      if (result.code !== 0 || !match) throw new Error(`run failed:\n${result.stderr}`);
      rates.push(EVENTS / (Number(match[1]) / 1000));
    } finally {
      project.cleanup();
    }
  }
  return median(rates);
}

async function checkpointDuration() {
  const cluster = await startCluster({ workers: 1, slots: 4 });
  const project = makeProject({ "job.ts": reduceJob({ name: "cp-1m-keys", keys: 1000000, interval: 2000, rate: 400000 }) });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    const id = submitted.stdout.trim();
    const recordsIn = (text) => Math.max(0, ...[...text.matchAll(/ in (\d+)/g)].map((m) => Number(m[1])));
    await waitForStatus(id, cluster.address, (text) => recordsIn(text) >= 1500000, 120000);
    const durations = new Map();
    const deadline = Date.now() + 20000;
    while (durations.size < 4 && Date.now() < deadline) {
      const status = (await sluice(["status", id, "-c", cluster.address])).stdout;
      const m = status.match(/latest (\d+) at \S+ \((\d+) ms\)/);
      if (m && recordsIn(status) >= 1500000) durations.set(m[1], Number(m[2]));
      await new Promise((r) => setTimeout(r, 300));
    }
    await sluice(["cancel", id, "-c", cluster.address]);
    return [...durations.values()];
  } finally {
    project.cleanup();
    await cluster.stop();
  }
}

// Each checkpoint's cost while a job with `keys` keys runs for `seconds` once every key is in
// the state: the synchronous part (slowest task), the asynchronous part, the state's size, full
// and written anew, as `sluice status` shows them.
async function checkpointCosts(keys, seconds) {
  const cluster = await startCluster({ workers: 1, slots: 4 });
  const project = makeProject({ "job.ts": reduceJob({ name: "cp-costs", keys, interval: 1000, rate: 400000 }) });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    const id = submitted.stdout.trim();
    const recordsIn = (text) => Math.max(0, ...[...text.matchAll(/ in (\d+)/g)].map((m) => Number(m[1])));
    await waitForStatus(id, cluster.address, (text) => recordsIn(text) >= 1.5 * keys, 600000);
    const costs = new Map();
    const size = (n, unit) => Number(n) * (unit === "MB" ? 1048576 : 1024);
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      const status = (await sluice(["status", id, "-c", cluster.address])).stdout;
      const m = status.match(/latest (\d+) at \S+ \((\d+) ms\)\n\s+latest checkpoint: sync ([\d.]+) ms, async ([\d.]+) ms \(slowest task\); state ([\d.]+) (KB|MB), ([\d.]+) (KB|MB) new/);
      if (m) costs.set(m[1], { total: Number(m[2]), sync: Number(m[3]), async: Number(m[4]), full: size(m[5], m[6]), fresh: size(m[7], m[8]) });
      await new Promise((r) => setTimeout(r, 150));
    }
    await sluice(["cancel", id, "-c", cluster.address]);
    return [...costs.values()];
  } finally {
    project.cleanup();
    await cluster.stop();
  }
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const mb = (bytes) => (bytes / 1048576).toFixed(1);

async function recoveryTime() {
  const timeout = 2000;
  const cluster = await startCluster({ workers: 2, slots: 4, coordinatorArgs: ["--worker-timeout", String(timeout)] });
  const project = makeProject({ "job.ts": reduceJob({ name: "cp-recovery", keys: 10000, interval: 1000, parallelism: 2, rate: 100000 }) });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    const id = submitted.stdout.trim();
    await waitForStatus(id, cluster.address, (text) => /checkpoints: [1-9]/.test(text), 30000);
    const killedAt = Date.now();
    cluster.processes[1].kill("SIGKILL");
    await waitForStatus(id, cluster.address,
      (text) => /restarts: [1-9]/.test(text) && /state:\s+running/.test(text) && !/deploying/.test(text), 30000);
    const resumed = Date.now() - killedAt;
    await sluice(["cancel", id, "-c", cluster.address]);
    return { resumed, timeout };
  } finally {
    project.cleanup();
    await cluster.stop();
  }
}

if (process.env.CP_COSTS) {
  // CP_COSTS=1000000,3000000: the checkpoint costs at these key counts, CP_SECONDS each.
  for (const keys of process.env.CP_COSTS.split(",").map(Number)) {
    const costs = await checkpointCosts(keys, Number(process.env.CP_SECONDS ?? 30));
    if (costs.length === 0) throw new Error(`no checkpoint completed with ${keys} keys`);
    const pick = (f) => costs.map(f);
    console.log(`| ${keys} keys, ${costs.length} checkpoints | sync p50 ${quantile(pick((c) => c.sync), 0.5)} ms, p99 ${quantile(pick((c) => c.sync), 0.99)} ms | async p50 ${quantile(pick((c) => c.async), 0.5)} ms | trigger to completion p50 ${quantile(pick((c) => c.total), 0.5)} ms | state ${mb(quantile(pick((c) => c.full), 0.5))} MB, ${mb(quantile(pick((c) => c.fresh), 0.5))} MB new (p50) |`);
  }
  process.exit(0);
}
const without = await throughput(0);
const withCheckpoints = await throughput(1000);
console.log(`| checkpoints every 1 s vs none (${EVENTS} records, ${KEYS} keys, p=1) | ${Math.round(withCheckpoints)} vs ${Math.round(without)} records/s | ${(((without - withCheckpoints) / without) * 100).toFixed(1)} % lower |`);
const durations = await checkpointDuration();
console.log(`| checkpoint duration, 1,000,000 keys | ${durations.join(", ")} ms | median ${median(durations)} ms |`);
const { resumed, timeout } = await recoveryTime();
console.log(`| worker death to resumed processing | ${resumed} ms after the kill | ${resumed - timeout} ms after detection (timeout ${timeout} ms) |`);
