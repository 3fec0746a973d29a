// Checkpoint size and duration as keyed state grows (issue 19: 1M and 10M keys), printed as
// markdown rows. The job fills its state fast: a generator at full speed, keyed by the record's
// number for the first SG_KEYS records (each a new key, summed once) and then by the number
// modulo SG_HOT (a hot set that keeps changing), a running sum, checkpoints every second, on a
// cluster of one worker. Once SG_KEYS + SG_AFTER records are in, every checkpoint `sluice status`
// shows for SG_SECONDS is taken: its synchronous part (slowest task), asynchronous part, trigger
// to completion, and the state's size, full and written anew.
//
// With SG_JOB=q5 instead: Nexmark q5 with checkpoints every second (bench/nexmark/
// q5_checkpoints.ts, SG_EVENTS events), its checkpoints after SG_AFTER records.
//
//   SG_KEYS=1000000,10000000 node bench/checkpoints/state_growth.mjs   (after scripts/build.sh)
//   SLUICE_BIN=/path/to/sluice SG_KEYS=10000000 SG_SECONDS=30 node bench/checkpoints/state_growth.mjs
//   SG_JOB=q5 SG_SECONDS=30 node bench/checkpoints/state_growth.mjs
import { readFileSync } from "node:fs";
import { makeProject, sluice, startCluster } from "../../tests/e2e/harness.mjs";

const KEYS = (process.env.SG_KEYS ?? "1000000,10000000").split(",").map(Number);
const HOT = Number(process.env.SG_HOT ?? 100000);
const AFTER = Number(process.env.SG_AFTER ?? 2000000);
const SECONDS = Number(process.env.SG_SECONDS ?? 30);
const FILL_TIMEOUT = Number(process.env.SG_FILL_TIMEOUT ?? 900) * 1000;
const Q5 = process.env.SG_JOB === "q5";
const EVENTS = Number(process.env.SG_EVENTS ?? 200000000);

const job = (keys) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("state-growth", { parallelism: 1, checkpointInterval: 1000 });
job.source(sources.generator({}))
  .keyBy((i: number) => (i < ${keys} ? i : i % ${HOT}))
  .reduce((a: number, i: number) => a + i)
  .sink(sinks.discard());
export default job;
`;

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const mb = (bytes) => (bytes / 1048576).toFixed(1);
const recordsIn = (text) => Math.max(0, ...[...text.matchAll(/ in (\d+)/g)].map((m) => Number(m[1])));
const CHECKPOINT = /latest (\d+) at \S+ \((\d+) ms\)\n\s+latest checkpoint: sync ([\d.]+) ms, async ([\d.]+) ms \(slowest task\); state ([\d.]+) (KB|MB|GB), ([\d.]+) (KB|MB|GB) new/;
const size = (n, unit) => Number(n) * { KB: 1024, MB: 1048576, GB: 1073741824 }[unit];

// Polls `sluice status` once a second (each call is a process: polling faster would take CPU
// from the job) until done(text); the time it took.
async function waitFor(id, address, done) {
  const started = Date.now();
  for (;;) {
    const status = await sluice(["status", id, "-c", address]);
    if (/state:\s+(finished|failed|canceled)/.test(status.stdout)) {
      throw new Error(`job ${id} ended:\n${status.stdout}`);
    }
    if (done(status.stdout)) return (Date.now() - started) / 1000;
    if (Date.now() - started > FILL_TIMEOUT) throw new Error(`job ${id}: timed out\n${status.stdout}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function measure(keys) {
  const cluster = await startCluster({ workers: 1, slots: 4 });
  const files = Q5
    ? {
        "job.ts": readFileSync(new URL("../nexmark/q5_checkpoints.ts", import.meta.url), "utf8"),
        "q5.ts": readFileSync(new URL("../nexmark/q5.ts", import.meta.url), "utf8"),
      }
    : { "job.ts": job(keys) };
  const project = makeProject(files);
  try {
    const args = ["submit", "job.ts", "-c", cluster.address];
    if (Q5) args.push("--param", `events=${EVENTS}`);
    const submitted = await sluice(args, { cwd: project.dir });
    if (submitted.code !== 0) throw new Error(`submit failed:\n${submitted.stderr}`);
    const id = submitted.stdout.trim();
    const filled = await waitFor(id, cluster.address, (text) => recordsIn(text) >= keys);
    await waitFor(id, cluster.address, (text) => recordsIn(text) >= keys + AFTER);
    const costs = new Map();
    const deadline = Date.now() + SECONDS * 1000;
    while (Date.now() < deadline) {
      const status = (await sluice(["status", id, "-c", cluster.address])).stdout;
      const m = status.match(CHECKPOINT);
      if (m) {
        costs.set(m[1], { total: Number(m[2]), sync: Number(m[3]), async: Number(m[4]),
                          full: size(m[5], m[6]), fresh: size(m[7], m[8]) });
      }
      await new Promise((r) => setTimeout(r, 400));
    }
    await sluice(["cancel", id, "-c", cluster.address]);
    return { filled, costs: [...costs.values()] };
  } finally {
    project.cleanup();
    await cluster.stop();
  }
}

console.log("| keys | filled after | checkpoints | sync part (slowest task) | async part | trigger to completion | state, full (p50) | written anew (p50, max) |");
console.log("|---|---|---|---|---|---|---|---|");
for (const keys of Q5 ? [0] : KEYS) {
  const { filled, costs } = await measure(keys);
  if (costs.length === 0) throw new Error(`no checkpoint completed with ${keys} keys`);
  const pick = (f) => costs.map(f);
  const q = (f, p) => quantile(pick(f), p);
  console.log(`| ${keys.toLocaleString("en")} | ${filled.toFixed(0)} s | ${costs.length} | ` +
    `p50 ${q((c) => c.sync, 0.5)} ms, p99 ${q((c) => c.sync, 0.99)} ms | ` +
    `p50 ${q((c) => c.async, 0.5)} ms, p99 ${q((c) => c.async, 0.99)} ms | ` +
    `p50 ${q((c) => c.total, 0.5)} ms | ${mb(q((c) => c.full, 0.5))} MB | ` +
    `${mb(q((c) => c.fresh, 0.5))} MB, ${mb(q((c) => c.fresh, 1))} MB |`);
}
