// A coordinator with --data-dir is killed (SIGKILL) while one job has finished and another is
// running on two worker processes; a new coordinator on the same port and data dir lists both
// with their last state (the running one failed with the restart reason), the re-registered
// workers' stray tasks are cancelled, and a job needing every slot runs.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProject, sluice, startServer, waitForStatus } from "./harness.mjs";

const RESTART_REASON =
  "the coordinator restarted while the job was running; its tasks were cancelled";

const processes = [];
const cleanups = [];
after(async () => {
  await Promise.all(processes.map(stopProcess));
  for (const cleanup of cleanups) cleanup();
});

/** Starts `sluice <args>`; resolves once its output matches `ready`. Killed in `after`. */
async function startProcess(args, ready, what) {
  const started = await startServer(args, ready, what);
  processes.push(started.child);
  return started;
}

function stopProcess(child, signal = "SIGTERM") {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

/** `sluice workers` as rows of { id, running } ("-" until the worker's first heartbeat). */
async function workers(address) {
  const listed = await sluice(["workers", "--coordinator", address]);
  if (listed.code !== 0) return [];
  return listed.stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .map((cols) => ({ id: cols[0], slots: Number(cols[2]), running: cols[4] }));
}

async function poll(what, check, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last.ok) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

const jobFile = (name, parallelism, source, sink) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("${name}", { parallelism: ${parallelism} });
job.source(sources.generator(${source})).map((n: number) => n + 1).sink(sinks.${sink}());
export default job;
`;

test("a restarted coordinator keeps its jobs' last states and cancels the tasks it lost", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-restart-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const project = makeProject({
    "bounded.ts": jobFile("bounded", 2, "{ count: 1000 }", "collect"),
    "forever.ts": jobFile("forever", 2, "{ rate: 1000 }", "discard"),
    "full.ts": jobFile("every-slot", 4, "{ count: 4000 }", "discard"),
  });
  cleanups.push(project.cleanup);

  const first = await startProcess(
    ["coordinator", "--listen", "127.0.0.1:0", "--data-dir", dataDir],
    /coordinator listening on (127\.0\.0\.1:\d+)/,
    "coordinator",
  );
  const address = first.match[1];
  for (let i = 0; i < 2; i++) {
    await startProcess(
      ["worker", "--coordinator", address, "--slots", "2"],
      /worker worker-\d+ serving on/,
      `worker ${i}`,
    );
  }

  const submit = async (file) => {
    const submitted = await sluice(["submit", file, "-c", address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    return submitted.stdout.trim();
  };
  const bounded = await submit("bounded.ts");
  assert.match(await waitForStatus(bounded, address), /state:\s+finished/);
  const forever = await submit("forever.ts");
  await waitForStatus(forever, address, (text) => /state:\s+running/.test(text));
  // Both of its tasks are running on the workers, as their heartbeats say.
  await poll("the workers reporting the running tasks", async () => {
    const rows = await workers(address);
    const running = rows.reduce((sum, w) => sum + (Number(w.running) || 0), 0);
    return { ok: rows.length === 2 && running === 2, rows };
  });

  await stopProcess(first.child, "SIGKILL");
  await startProcess(
    ["coordinator", "--listen", address, "--data-dir", dataDir],
    /coordinator listening on (127\.0\.0\.1:\d+)/,
    "restarted coordinator",
  );

  // Both workers register again, and once they have sent heartbeats they run nothing: the
  // coordinator cancelled the lost job's tasks they still reported.
  const settled = await poll("both workers re-registered with no task left running", async () => {
    const rows = await workers(address);
    return { ok: rows.length === 2 && rows.every((w) => w.running === "0"), rows };
  });
  assert.deepEqual(settled.rows.map((w) => w.slots), [2, 2]);

  const list = await sluice(["list", "-c", address]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${bounded}\\s+finished\\s+2\\s+bounded`));
  assert.match(list.stdout, new RegExp(`${forever}\\s+failed\\s+2\\s+forever`));
  const status = await sluice(["status", forever, "-c", address]);
  assert.match(status.stdout, /state:\s+failed/);
  assert.ok(status.stdout.includes(`reason: ${RESTART_REASON}`), status.stdout);
  assert.doesNotMatch(status.stdout, /\srunning\s/);

  // Every slot is free again: a job that needs all four runs to the end.
  const full = await submit("full.ts");
  assert.match(await waitForStatus(full, address), /state:\s+finished/);

  // Cancelling a job from before the restart is a no-op that reports its state.
  const cancel = await sluice(["cancel", forever, "-c", address]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, new RegExp(`${forever} failed`));
});
