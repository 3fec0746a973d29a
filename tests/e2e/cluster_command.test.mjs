// `sluice cluster --workers 3`: one command starts a coordinator and three worker processes;
// jobs run across them; a worker's death is reported; SIGTERM stops every process.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { SLUICE, makeProject, node, sluice } from "./harness.mjs";

let cluster;
let workerPids = [];
const cleanups = [];
after(async () => {
  if (cluster && cluster.exitCode === null && cluster.signalCode === null) {
    cluster.kill("SIGKILL");
  }
  for (const pid of workerPids) {
    if (isAlive(pid)) process.kill(pid, "SIGKILL");
  }
  for (const cleanup of cleanups) cleanup();
});

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function poll(what, check, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

const DRIVER = `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("three-ways", { parallelism: 3 });
job.source(sources.generator({ count: 3000 }))
  .map((n: number) => ({ n, square: n * n }))
  .sink(sinks.collect());
const handle = await job.submit({ coordinator: process.env.SLUICE_COORDINATOR });
const results = await handle.results();
const status = await handle.status();
console.log(JSON.stringify({ id: handle.id, state: status.state, results }));
`;

test("sluice cluster runs three worker processes, reports a dead one and stops on SIGTERM", async () => {
  cluster = spawn(SLUICE, ["cluster", "--workers", "3", "--listen", "127.0.0.1:0", "--slots", "2", "--http-listen", "127.0.0.1:0"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  cluster.stdout.on("data", (d) => (stdout += d));
  cluster.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => cluster.once("exit", (code, signal) => resolve({ code, signal })));

  await poll("the cluster being ready", async () => ({ ok: /cluster ready/.test(stdout), stdout, stderr }));
  const address = stdout.match(/coordinator listening on (127\.0\.0\.1:\d+)/)[1];
  // The page's URL is printed, and the HTTP API sees the three workers.
  const page = stdout.match(/playground on (http:\/\/127\.0\.0\.1:\d+\/)/)[1];
  const workersJson = await (await fetch(`${page}api/v1/workers`)).json();
  assert.equal(workersJson.workers.length, 3);
  workerPids = [...stdout.matchAll(/worker \d+ pid (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(workerPids.length, 3, stdout);
  for (const pid of workerPids) assert.ok(isAlive(pid), `worker pid ${pid} is not running`);

  const listed = await sluice(["workers", "--coordinator", address]);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = listed.stdout.trim().split("\n").slice(1);
  assert.equal(rows.length, 3, listed.stdout);
  // Each worker is one of the pids the cluster printed (its name is host:pid).
  const names = rows.map((row) => Number(row.trim().split(/\s+/).pop().split(":").pop()));
  assert.deepEqual([...names].sort(), [...workerPids].sort());

  const project = makeProject({ "driver.ts": DRIVER });
  cleanups.push(project.cleanup);
  const run = await node("driver.mjs", { cwd: project.dir, env: { SLUICE_COORDINATOR: address } });
  assert.equal(run.code, 0, run.stderr);
  const { id, state, results } = JSON.parse(run.stdout.trim().split("\n").pop());
  assert.equal(state, "finished");
  const expected = Array.from({ length: 3000 }, (_, n) => ({ n, square: n * n }));
  assert.deepEqual([...results].sort((a, b) => a.n - b.n), expected);
  // Its three tasks ran on three different workers.
  const status = await sluice(["status", id, "--coordinator", address]);
  const used = new Set([...status.stdout.matchAll(/\s(worker-\d+)\s/g)].map((m) => m[1]));
  assert.equal(used.size, 3, status.stdout);

  // A worker that dies is reported, not restarted.
  process.kill(workerPids[2], "SIGKILL");
  await poll("the dead worker being reported", async () => ({
    ok: new RegExp(`worker 3 \\(pid ${workerPids[2]}\\) was killed`).test(stderr),
    stderr,
  }));

  cluster.kill("SIGTERM");
  let timer;
  const ended = await Promise.race([
    exited,
    new Promise((resolve) => (timer = setTimeout(() => resolve({ timeout: true }), 20000))),
  ]);
  clearTimeout(timer);
  assert.deepEqual(ended, { code: 0, signal: null }, stderr);
  for (const pid of workerPids) assert.ok(!isAlive(pid), `worker pid ${pid} is still running`);
});
