// Old and new binaries side by side: the keyed running reduce of checkpoints.mjs (CP_EVENTS
// records over CP_KEYS keys, parallelism 1) through `sluice run` with checkpoints every second
// and without, each binary in turn, CP_ROUNDS rounds; prints every run and the medians.
//
//   node bench/checkpoints/alternate.mjs OLD_SLUICE NEW_SLUICE
//   CP_EVENTS=3000000 CP_KEYS=1000000 CP_ROUNDS=3 node bench/checkpoints/alternate.mjs A B
import { spawnSync } from "node:child_process";
import { makeProject } from "../../tests/e2e/harness.mjs";

const [oldBin, newBin] = process.argv.slice(2);
if (!oldBin || !newBin) throw new Error("usage: alternate.mjs OLD_SLUICE NEW_SLUICE");
const EVENTS = Number(process.env.CP_EVENTS ?? 3000000);
const KEYS = Number(process.env.CP_KEYS ?? 100000);
const ROUNDS = Number(process.env.CP_ROUNDS ?? 3);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const job = (interval) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("cp-alternate", { parallelism: 1${interval ? `, checkpointInterval: ${interval}` : ""} });
job.source(sources.generator({ count: ${EVENTS} }))
  .keyBy((i: number) => i % ${KEYS})
  .reduce((a: number, i: number) => a + i)
  .sink(sinks.discard());
export default job;
`;

function rate(bin, interval) {
  const project = makeProject({ "job.ts": job(interval) });
  try {
    const result = spawnSync(bin, ["run", "job.ts"], { cwd: project.dir, encoding: "utf8", timeout: 300000 });
    const match = result.stderr.match(/finished in (\d+) ms: (\d+) records in/);
    if (result.status !== 0 || !match) throw new Error(`${bin} run failed:\n${result.stderr}`);
    return EVENTS / (Number(match[1]) / 1000);
  } finally {
    project.cleanup();
  }
}

const rates = { old: { 0: [], 1000: [] }, new: { 0: [], 1000: [] } };
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, bin] of [["old", oldBin], ["new", newBin]]) {
    for (const interval of [0, 1000]) {
      const r = rate(bin, interval);
      rates[name][interval].push(r);
      console.log(`round ${round + 1} ${name} ${interval ? "checkpoints 1 s" : "none"}: ${Math.round(r)} records/s`);
    }
  }
}
for (const name of ["old", "new"]) {
  const none = median(rates[name][0]);
  const every = median(rates[name][1000]);
  console.log(`| ${name} | ${EVENTS} records, ${KEYS} keys | ${Math.round(every)} vs ${Math.round(none)} records/s | ${(((none - every) / none) * 100).toFixed(1)} % lower |`);
}
