// Recovery from a chain of incremental checkpoints (issue 19): a keyed running reduce over
// RC_KEYS keys (parallelism 2, checkpoints every second, only the latest retained, so every
// retained checkpoint links files that deleted ones wrote) runs until RC_CHAIN checkpoints
// completed with every key in the state; then
//   1. a worker is SIGKILLed: the time until the job runs again from its latest checkpoint, at
//      the same parallelism, every task having taken records (the loss is noticed by the
//      --worker-timeout, or sooner by a task whose exchange peer died);
//   2. the job is cancelled and submitted again from its latest checkpoint at parallelism 3:
//      the time from the submission until every task took records (rescaling copies the key
//      groups out of the old instances).
//
//   RC_KEYS=1000000 RC_CHAIN=10 node bench/checkpoints/recovery_chain.mjs   (after scripts/build.sh)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProject, sluice, startCluster, waitForStatus } from "../../tests/e2e/harness.mjs";

const KEYS = Number(process.env.RC_KEYS ?? 1000000);
const CHAIN = Number(process.env.RC_CHAIN ?? 10);
const timeout = 2000;

const job = (parallelism) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("cp-chain", { parallelism: ${parallelism}, checkpointInterval: 1000, checkpointsRetained: 1 });
job.source(sources.generator({ rate: 200000 }))
  .keyBy((i: number) => i % ${KEYS})
  .reduce((a: number, i: number) => a + i)
  .sink(sinks.discard());
export default job;
`;

const checkpointDir = mkdtempSync(join(tmpdir(), "sluice-chain-"));
const cluster = await startCluster({
  workers: 3, slots: 4, coordinatorArgs: ["--checkpoint-dir", checkpointDir, "--worker-timeout", String(timeout)],
});
const completed = (text) => Number(text.match(/checkpoints: (\d+) completed/)?.[1] ?? 0);
const recordsIn = (text) => Math.max(0, ...[...text.matchAll(/ in (\d+)/g)].map((m) => Number(m[1])));
// Running, and every task took records: a task reports running before it restored its state.
const minIn = (text) => Math.min(...[...text.matchAll(/ in (\d+)/g)].map((m) => Number(m[1])));
const running = (text) => /state:\s+running/.test(text) && !/deploying|scheduled|created/.test(text) &&
  [...text.matchAll(/ in (\d+)/g)].length >= 2 && minIn(text) > 0;
try {
  const a = makeProject({ "job.ts": job(2) });
  const id = (await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: a.dir })).stdout.trim();
  a.cleanup();
  let status = await waitForStatus(id, cluster.address, (t) => recordsIn(t) >= 1.5 * KEYS, 900000);
  const first = completed(status);
  status = await waitForStatus(id, cluster.address, (t) => completed(t) >= first + CHAIN, 900000);
  const size = status.match(/state ([\d.]+ (?:KB|MB)), ([\d.]+ (?:KB|MB)) new/);
  const killedAt = Date.now();
  cluster.processes[1].kill("SIGKILL");
  await waitForStatus(id, cluster.address, (t) => /restarts: [1-9]/.test(t) && running(t), 300000);
  const resumed = Date.now() - killedAt;
  status = await waitForStatus(id, cluster.address, (t) => /latest \d+ at/.test(t) && completed(t) >= completed(status) + 2, 300000);
  await sluice(["cancel", id, "-c", cluster.address]);
  status = await waitForStatus(id, cluster.address);
  const [, n, path] = status.match(/latest (\d+) at (\S+)/);
  const b = makeProject({ "job.ts": job(3) });
  const submittedAt = Date.now();
  const again = (await sluice(["submit", "job.ts", "-c", cluster.address, "-p", "3", "--from-savepoint", path], { cwd: b.dir })).stdout.trim();
  b.cleanup();
  await waitForStatus(again, cluster.address, running, 300000);
  const rescaled = Date.now() - submittedAt;
  await sluice(["cancel", again, "-c", cluster.address]);
  console.log(`| ${KEYS} keys, p=2, checkpoint ${n} of a chain (1 retained), state ${size?.[1]} (${size?.[2]} new) | killed worker to every task taking records again: ${resumed} ms (detection timeout ${timeout} ms) | restored at p=3: ${rescaled} ms from submit to every task taking records |`);
} finally {
  await cluster.stop();
  rmSync(checkpointDir, { recursive: true, force: true });
}
