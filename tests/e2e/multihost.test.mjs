// Sluice across machines: three test hosts (network namespaces on a bridge, 10.77.0.1-3), the
// coordinator on A, workers on B and C listening on 0.0.0.0. A keyed windowed job with
// checkpoints at parallelism 2 runs across both workers; one worker host is taken off the
// network and its processes killed mid-job, and the results are exactly those of the run
// without failure. Also: a worker's SIGTERM restarts its jobs at once (no heartbeat timeout),
// an unreachable advertised address is refused, and workers take their flags from SLUICE_*.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SLUICE, makeProject } from "./harness.mjs";
import { makeHosts, netnsUnavailable, runIn, spawnIn } from "./netns.mjs";

// A cluster across hosts runs with a token (without one the coordinator and the workers would
// refuse their non-loopback addresses); every process and CLI call below inherits it.
process.env.SLUICE_AUTH_TOKEN = "multihost-cluster-token";

const unavailable = await netnsUnavailable();
if (unavailable) console.log(`# skipping the multi-host suite: ${unavailable}`);
const suite = { skip: unavailable ?? false };

const WORKER_TIMEOUT_MS = 6000;
let net;
let A, B, C;
let scratch;
const processes = [];

/** Starts `sluice args` on `host`; resolves once its output matches `ready`. */
function startOn(host, args, ready, what, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawnIn(host, SLUICE, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    processes.push(child);
    child.output = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start within 30 s:\n${child.output}`)), 30000);
    const onData = (d) => {
      child.output += d;
      const match = child.output.match(ready);
      if (match && timer) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${child.output}`));
    });
  });
}

function stop(child, signal = "SIGTERM") {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

let coordinator; // { child, address }
const workers = []; // { child, id, address, metrics, host }

async function startWorker(host, extra = [], env = {}) {
  const { child, match } = await startOn(
    host,
    ["worker", "--coordinator", coordinator.address, "--listen", "0.0.0.0:0", "--metrics-listen", "0.0.0.0:0",
      "--slots", "4", "--state-dir", join(scratch, `state-${host.ns}-${workers.length}`),
      "--allow-path", scratch, ...extra],
    /worker (worker-\d+) serving on (\S+), metrics on http:\/\/\S+:(\d+)\/metrics/,
    `worker on ${host.ns}`,
    env,
  );
  const worker = { child, id: match[1], address: match[2], metricsPort: match[3], host };
  workers.push(worker);
  return worker;
}

/** `sluice args` from host A (where a user with the CLI would be). */
const cli = (args, options) => runIn(A, SLUICE, args, options);

async function status(id) {
  const out = await cli(["status", id, "-c", coordinator.address]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout;
}

async function waitForStatus(id, done, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  let text = "";
  while (Date.now() < deadline) {
    text = await status(id);
    if (done(text)) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id}: ${what} did not happen within ${timeoutMs} ms:\n${text}`);
}

const ended = (text) => /state:\s+(finished|failed|canceled)/.test(text);
const completed = (text) => Number(text.match(/checkpoints: (\d+) completed/)?.[1] ?? 0);
const restarts = (text) => Number(text.match(/restarts: (\d+)/)?.[1] ?? 0);
const taskLines = (text) => text.split("\n").filter((l) => /^\s+\S+\/g\d+\.\d+/.test(l));
// Running again after a restart: every task of the new attempt runs.
const runningAgain = (before) => (text) =>
  restarts(text) > before && /state:\s+running/.test(text) &&
  taskLines(text).length > 0 && taskLines(text).every((l) => /\srunning\s/.test(l));

// Events i = 0 .. n-1: key i % 7, event time i ms; counted per key in 1 s tumbling windows.
function windowJob(name, { n, rate, out }) {
  return `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job(${JSON.stringify(name)}, { parallelism: 2, checkpointInterval: 300 });
job.source(sources.generator({ count: ${n}, rate: ${rate}, fn: (i: number) => ({ k: i % 7, t: i }) }))
  .assignTimestamps((r: any) => r.t)
  .keyBy((r: any) => r.k)
  .window(windows.tumbling(1000))
  .count()
  .sink(sinks.file({ path: ${JSON.stringify(out)} }));
export default job;
`;
}

async function submit(source) {
  const project = makeProject({ "job.ts": source });
  try {
    // The coordinator's address from the environment, as in a container.
    const out = await cli(["submit", "job.ts"], { cwd: project.dir, env: { SLUICE_COORDINATOR: coordinator.address } });
    assert.equal(out.code, 0, out.stderr);
    return out.stdout.trim();
  } finally {
    project.cleanup();
  }
}

// Window results of every file `prefix`*: key@start -> count; a window written twice (a replay)
// must carry the same count both times.
function windowResults(prefix) {
  const seen = new Map();
  for (const file of readdirSync(scratch).filter((f) => f.startsWith(prefix))) {
    for (const line of readFileSync(join(scratch, file), "utf8").split("\n")) {
      if (line === "") continue;
      const r = JSON.parse(line);
      const key = `${r.key}@${r.window.start}`;
      if (seen.has(key)) assert.equal(r.value, seen.get(key), `window ${key} came out twice with different counts`);
      seen.set(key, r.value);
    }
  }
  return seen;
}

before(async () => {
  if (unavailable) return;
  scratch = mkdtempSync(join(tmpdir(), "sluice-multihost-"));
  net = await makeHosts(3);
  [A, B, C] = net.hosts;
  const started = await startOn(
    A,
    ["coordinator", "--listen", `${A.address}:7070`, "--metrics-listen", `${A.address}:0`,
      "--checkpoint-dir", join(scratch, "checkpoints"), "--worker-timeout", String(WORKER_TIMEOUT_MS),
      "--data-dir", join(scratch, "coordinator")],
    /coordinator listening on (\S+)/,
    "coordinator on A",
  );
  coordinator = { child: started.child, address: started.match[1] };
  await startWorker(B);
  await startWorker(C);
});

after(async () => {
  await Promise.all(processes.map((child) => stop(child, "SIGKILL")));
  await net?.destroy();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

test("workers listening on 0.0.0.0 register with their hosts' addresses; probes answer on any address", suite, async () => {
  assert.equal(coordinator.address, "10.77.0.1:7070");
  assert.match(workers[0].address, /^10\.77\.0\.2:\d+$/);
  assert.match(workers[1].address, /^10\.77\.0\.3:\d+$/);
  const listed = await cli(["workers", "-c", coordinator.address]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${workers[0].id}\\s+10\\.77\\.0\\.2:`));
  assert.match(listed.stdout, new RegExp(`${workers[1].id}\\s+10\\.77\\.0\\.3:`));
  // The worker on C's probes, from host A.
  for (const path of ["healthz", "readyz"]) {
    const probe = await runIn(A, process.execPath, ["-e",
      `fetch("http://${C.address}:${workers[1].metricsPort}/${path}").then(async (r) => console.log(r.status, await r.text()))`]);
    assert.equal(probe.stdout.trim(), "200 ok", `${path}: ${probe.stdout}${probe.stderr}`);
  }
});

let baseline;
test("a keyed windowed job at parallelism 2 runs across the workers on both hosts", suite, async () => {
  const n = 30000;
  const id = await submit(windowJob("across", { n, rate: 10000, out: join(scratch, "across") }));
  const running = await waitForStatus(id, (t) => completed(t) >= 1 || ended(t), 30000, "a checkpoint");
  // Tasks on both workers, talking to each other across the bridge.
  assert.match(running, new RegExp(`\\s${workers[0].id}\\s`));
  assert.match(running, new RegExp(`\\s${workers[1].id}\\s`));
  const done = await waitForStatus(id, ended, 60000, "the end");
  assert.match(done, /state:\s+finished/);
  assert.equal(restarts(done), 0, done);
  baseline = windowResults("across");
  assert.equal(baseline.size, 7 * Math.ceil(n / 1000));
});

test("a worker host dies mid-job: the job restarts on the other host and its results are those of the run without failure", suite, async () => {
  const n = 30000;
  const id = await submit(windowJob("host-dies", { n, rate: 3000, out: join(scratch, "host-dies") }));
  await waitForStatus(id, (t) => completed(t) >= 2, 30000, "two checkpoints");
  const victim = workers[0];
  assert.equal(victim.host, B);
  // Host B goes: off the network, its processes gone.
  const t0 = Date.now();
  await net.unplug(1);
  try {
    victim.child.kill("SIGKILL");
    const again = await waitForStatus(id, runningAgain(0), 60000, "running again");
    const recoveryMs = Date.now() - t0;
    console.log(`# worker host death to the job running again on the other host: ${recoveryMs} ms ` +
      `(worker timeout ${WORKER_TIMEOUT_MS} ms, restart delay 1000 ms)`);
    assert.doesNotMatch(again.split("tasks:")[1], new RegExp(`\\s${victim.id}\\s`));
    const done = await waitForStatus(id, ended, 90000, "the end");
    assert.match(done, /state:\s+finished/);
    assert.deepEqual(new Map([...windowResults("host-dies")].sort()), new Map([...baseline].sort()));
  } finally {
    await net.plug(1);
  }
});

test("a worker given SIGTERM tells the coordinator: its job restarts at once, not after the heartbeat timeout", suite, async () => {
  const replacement = await startWorker(B);
  const id = await submit(windowJob("sigterm", { n: 30000, rate: 3000, out: join(scratch, "sigterm") }));
  const running = await waitForStatus(id, (t) => completed(t) >= 1, 30000, "a checkpoint");
  assert.match(running, new RegExp(`\\s${replacement.id}\\s`));
  const t0 = Date.now();
  await stop(replacement.child, "SIGTERM");
  assert.equal(replacement.child.exitCode, 0, replacement.child.output);
  // It said goodbye before it exited: the coordinator no longer lists it (a worker that just
  // vanished stays listed until the heartbeat timeout).
  const listed = await cli(["workers", "-c", coordinator.address]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.doesNotMatch(listed.stdout, new RegExp(`^${replacement.id}\\s`, "m"));
  const restarted = await waitForStatus(id, (t) => restarts(t) >= 1, WORKER_TIMEOUT_MS - 1000, "a restart");
  const restartMs = Date.now() - t0;
  console.log(`# SIGTERM to the job restarted elsewhere: ${restartMs} ms (worker timeout ${WORKER_TIMEOUT_MS} ms)`);
  assert.match(restarted, /state:\s+(running|restarting|scheduling)/);
  assert.match(restarted, new RegExp(`restarts: 1 \\(last: worker ${replacement.id} left \\(the worker process was asked to stop\\)`));
  assert.ok(restartMs < WORKER_TIMEOUT_MS, `${restartMs} ms`);
  const done = await waitForStatus(id, ended, 90000, "the end");
  assert.match(done, /state:\s+finished/);
  assert.deepEqual(new Map([...windowResults("sigterm")].sort()), new Map([...baseline].sort()));
});

test("the coordinator refuses a worker whose advertised address other hosts cannot reach", suite, async () => {
  // The default --listen is 127.0.0.1:0: fine on one machine, useless across hosts.
  for (const extra of [["--listen", "127.0.0.1:0"], ["--listen", "0.0.0.0:0", "--advertise", "127.0.0.1"]]) {
    const out = await runIn(C, SLUICE, ["worker", "-c", coordinator.address, ...extra], { timeoutMs: 30000 });
    assert.equal(out.code, 2, `${extra.join(" ")}: ${out.stderr}`);
    assert.match(out.stderr, /worker \S+:\d+ registered with address 127\.0\.0\.1:\d+, which other hosts cannot reach/);
    assert.match(out.stderr, /--advertise HOST\[:PORT\]/);
  }
  const listed = await cli(["workers", "-c", coordinator.address]);
  assert.doesNotMatch(listed.stdout, /127\.0\.0\.1/);
});

test("a worker takes its flags from SLUICE_* variables, and --advertise wins over the derived address", suite, async () => {
  const worker = await startWorker(B, [], {});
  await stop(worker.child, "SIGTERM");
  const { child, match } = await startOn(
    B,
    ["worker"],
    /worker (worker-\d+) serving on (\S+), metrics on http:\/\/(\S+)\/metrics/,
    "worker configured by environment",
    {
      SLUICE_COORDINATOR: coordinator.address,
      SLUICE_LISTEN: "0.0.0.0:7171",
      SLUICE_ADVERTISE: B.address,
      SLUICE_METRICS_LISTEN: `${B.address}:9191`,
      SLUICE_SLOTS: "3",
    },
  );
  assert.equal(match[2], "10.77.0.2:7171");
  assert.equal(match[3], "10.77.0.2:9191");
  const listed = await cli(["workers", "-c", coordinator.address]);
  assert.match(listed.stdout, new RegExp(`${match[1]}\\s+10\\.77\\.0\\.2:7171\\s+3\\s`));
  await stop(child, "SIGTERM");
  assert.equal(child.exitCode, 0, child.output);
});

test("a coordinator given SIGTERM exits cleanly, and one started on its data dir lists its jobs", suite, async () => {
  const before = await cli(["list", "-c", coordinator.address]);
  assert.equal(before.code, 0, before.stderr);
  const jobs = before.stdout.trim().split("\n").slice(1).map((line) => line.split(/\s+/).slice(0, 2).join(" "));
  assert.ok(jobs.length >= 3, before.stdout);
  await stop(coordinator.child, "SIGTERM");
  assert.equal(coordinator.child.exitCode, 0, coordinator.child.output);
  assert.match(coordinator.child.output, /coordinator stopped: jobs kept in /);
  const { child } = await startOn(
    A,
    ["coordinator", "--listen", `${A.address}:7070`, "--data-dir", join(scratch, "coordinator"),
      "--checkpoint-dir", join(scratch, "checkpoints")],
    /coordinator listening on (\S+)/,
    "coordinator restarted on A",
  );
  const after = await cli(["list", "-c", coordinator.address]);
  assert.equal(after.code, 0, after.stderr);
  // An ended job comes back as it was; a live one is resumed (scheduling until its workers are
  // back), so only its id is compared.
  for (const job of jobs) {
    const [id, state] = job.split(" ");
    const ended = ["finished", "failed", "canceled"].includes(state);
    assert.match(after.stdout, new RegExp(ended ? `${id}\\s+${state}` : id), after.stdout);
  }
  await stop(child, "SIGTERM");
});
