// A coordinator with --data-dir is killed (SIGKILL) while one job has finished and another is
// running on two worker processes; a new coordinator on the same port and data dir lists the
// finished one as it was and resumes the running one (a new attempt, the old attempt's tasks
// cancelled on the re-registered workers); once that is cancelled, a job needing every slot
// runs.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProject, node, sluice, startServer, waitForStatus } from "./harness.mjs";

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

test("a restarted coordinator resumes its running job and cancels the lost attempt's tasks", async () => {
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

  // The running job is resumed: attempt 1 runs, the lost attempt's tasks are gone.
  const resumed = await waitForStatus(forever, address, (text) => /resumes: 1 \(attempt 1\)/.test(text) && (text.match(/#1\s+running/g) ?? []).length === 2, 30000);
  assert.match(resumed, /state:\s+running/, resumed);
  assert.doesNotMatch(resumed, /g\d\.\d\s+running/, resumed);  // attempt-0 task ids have no #
  const settled = await poll("both workers re-registered, running the new attempt only", async () => {
    const rows = await workers(address);
    return { ok: rows.length === 2 && rows.reduce((n, w) => n + (Number(w.running) || 0), 0) === 2, rows };
  });
  assert.deepEqual(settled.rows.map((w) => w.slots), [2, 2]);

  const list = await sluice(["list", "-c", address]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${bounded}\\s+finished\\s+2\\s+bounded`));
  assert.match(list.stdout, new RegExp(`${forever}\\s+running\\s+2\\s+forever`));
  // The bounded job's collected results were not kept: the API says so.
  const cancel = await sluice(["cancel", forever, "-c", address]);
  assert.equal(cancel.code, 0, cancel.stderr);
  assert.match(cancel.stdout, new RegExp(`${forever} canceled`));
  await poll("the cancelled job's tasks gone from the workers", async () => {
    const rows = await workers(address);
    return { ok: rows.every((w) => w.running === "0"), rows };
  });

  // Every slot is free again: a job that needs all four runs to the end.
  const full = await submit("full.ts");
  assert.match(await waitForStatus(full, address), /state:\s+finished/);

  // Cancelling a job that has ended is a no-op that reports its state.
  const again = await sluice(["cancel", forever, "-c", address]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`${forever} canceled`));
});

// Reads a job's results through the SDK, as `results()` and as `results({ allowPartial: true })`,
// and prints what each gave, with the status's resultsPartial.
const RESULTS_DRIVER = `
import { connect } from "@sluice/sdk";
const handle = await connect(process.env.JOB_ID, { coordinator: process.env.SLUICE_COORDINATOR });
const strict = await handle.results().then((r) => ({ records: r.length }), (e) => ({ error: e.message }));
const partial = await handle.results({ allowPartial: true });
const status = await handle.status();
console.log(JSON.stringify({ strict, partial: partial.length, resultsPartial: status.resultsPartial, last: partial.at(-1) }));
`;

test("the SDK says when a restarted coordinator kept only part of a job's collected results", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-restart-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const project = makeProject({
    "slow.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("slow-collect", { parallelism: 1, checkpointInterval: 200 });
job.source(sources.generator({ count: 2000, rate: 500 })).map((n: number) => n + 1).sink(sinks.collect());
export default job;
`,
    "driver.ts": RESULTS_DRIVER,
    "whole.ts": jobFile("whole", 1, "{ count: 50 }", "collect"),
  });
  cleanups.push(project.cleanup);
  const first = await startProcess(
    ["coordinator", "--listen", "127.0.0.1:0", "--data-dir", dataDir],
    /coordinator listening on (127\.0\.0\.1:\d+)/,
    "coordinator",
  );
  const address = first.match[1];
  await startProcess(["worker", "--coordinator", address, "--slots", "2"], /worker worker-\d+ serving on/, "worker");
  const submitted = await sluice(["submit", "slow.ts", "-c", address], { cwd: project.dir });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  // Some records were collected and a checkpoint completed before the coordinator dies.
  await waitForStatus(id, address, (text) => /checkpoints: [1-9]\d* completed/.test(text) && /out [1-9]\d*/.test(text));
  await stopProcess(first.child, "SIGKILL");
  await startProcess(
    ["coordinator", "--listen", address, "--data-dir", dataDir],
    /coordinator listening on (127\.0\.0\.1:\d+)/,
    "restarted coordinator",
  );
  const ended = await waitForStatus(id, address, undefined, 30000);
  assert.match(ended, /state:\s+finished/, ended);
  assert.match(ended, /collected results from before the coordinator restart are lost/, ended);

  const run = await node("driver.mjs", { cwd: project.dir, env: { JOB_ID: id, SLUICE_COORDINATOR: address } });
  assert.equal(run.code, 0, run.stderr);
  const seen = JSON.parse(run.stdout.trim().split("\n").pop());
  assert.match(seen.strict.error ?? "", new RegExp(`job ${id} was resumed by a restarted coordinator.*allowPartial`), JSON.stringify(seen));
  assert.equal(seen.resultsPartial, true);
  // The records since the resume: fewer than the job made, and they run to its last one.
  assert.ok(seen.partial > 0 && seen.partial < 2000, JSON.stringify(seen));
  assert.equal(seen.last, 2000);

  // A job the restarted coordinator ran whole is not partial: results() returns everything.
  const whole = await sluice(["submit", "whole.ts", "-c", address], { cwd: project.dir });
  assert.equal(whole.code, 0, whole.stderr);
  const wholeId = whole.stdout.trim();
  assert.match(await waitForStatus(wholeId, address), /state:\s+finished/);
  const again = await node("driver.mjs", { cwd: project.dir, env: { JOB_ID: wholeId, SLUICE_COORDINATOR: address } });
  assert.equal(again.code, 0, again.stderr);
  const full = JSON.parse(again.stdout.trim().split("\n").pop());
  assert.deepEqual(full, { strict: { records: 50 }, partial: 50, resultsPartial: false, last: 50 });
});

test("a restarted coordinator waits for the very workers that ran a job, not just as many", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-restart-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const project = makeProject({ "forever.ts": jobFile("forever", 4, "{ rate: 1000 }", "discard") });
  cleanups.push(project.cleanup);
  // A long worker timeout: the resume waits for the workers that ran the job up to it.
  const coordinatorArgs = ["--data-dir", dataDir, "--worker-timeout", "30000"];
  const first = await startProcess(["coordinator", "--listen", "127.0.0.1:0", ...coordinatorArgs],
    /coordinator listening on (127\.0\.0\.1:\d+)/, "coordinator");
  const address = first.match[1];
  const ran = [];
  for (let i = 0; i < 2; i++) {
    ran.push(await startProcess(["worker", "--coordinator", address, "--slots", "2"], /worker worker-\d+ serving on/, `worker ${i}`));
  }
  const submitted = await sluice(["submit", "forever.ts", "-c", address], { cwd: project.dir });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  await waitForStatus(id, address, (text) => (text.match(/\s+running\s+worker-/g) ?? []).length === 4);

  // One of the two workers hangs; the coordinator dies and comes back; a new, empty worker joins.
  ran[1].child.kill("SIGSTOP");
  try {
    await stopProcess(first.child, "SIGKILL");
    await startProcess(["coordinator", "--listen", address, ...coordinatorArgs],
      /coordinator listening on (127\.0\.0\.1:\d+)/, "restarted coordinator");
    await startProcess(["worker", "--coordinator", address, "--slots", "4"], /worker worker-\d+ serving on/, "new worker");
    // Two workers are back (the live one and the new one), as many as ran the job, but not the
    // hung one: the job is not redeployed.
    await poll("the live and the new worker registered", async () => {
      const rows = await workers(address);
      return { ok: rows.length === 2, rows };
    });
    await new Promise((r) => setTimeout(r, 2000));
    const waiting = await sluice(["status", id, "-c", address]);
    assert.doesNotMatch(waiting.stdout, /#1\s+running/, waiting.stdout);
  } finally {
    ran[1].child.kill("SIGCONT");
  }
  // The hung worker comes back and registers: now the job resumes, all four tasks running.
  const resumed = await waitForStatus(id, address, (text) => (text.match(/#1\s+running/g) ?? []).length === 4, 30000);
  assert.match(resumed, /resumes: 1 \(attempt 1\)/, resumed);
  const cancel = await sluice(["cancel", id, "-c", address]);
  assert.equal(cancel.code, 0, cancel.stderr);
});
