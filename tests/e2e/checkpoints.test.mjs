// Checkpoints, recovery and savepoints on a real cluster (coordinator and worker processes):
// periodic checkpoints with retention, asynchronous and incremental snapshots (status shows
// their parts and sizes), a worker killed mid-job (the job restarts from its last
// checkpoint and every window result is right), and a savepoint taken at parallelism 2 and
// restored at 3 (key groups redistributed; the results are those of an uninterrupted run), for
// tumbling windows and for sliding windows (kept in slices), with combiners before the windows
// (the sources pre-aggregate), and a savepoint taken with them restored without and the reverse;
// and a chain of many incremental
// checkpoints, the oldest removed by retention, restored at the same and at another parallelism.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, makeProject, sluice, waitForStatus, submitJob, checkpointsCompleted, sinkRecords } from "./harness.mjs";

let cluster;
let checkpointDir;
let outDir;
before(async () => {
  checkpointDir = mkdtempSync(join(tmpdir(), "sluice-chk-"));
  outDir = mkdtempSync(join(tmpdir(), "sluice-out-"));
  cluster = await startCluster({
    workers: 2,
    slots: 4,
    coordinatorArgs: ["--checkpoint-dir", checkpointDir, "--worker-timeout", "2000"],
  });
});
after(async () => {
  await cluster?.stop();
  rmSync(checkpointDir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

const completed = checkpointsCompleted;
const submit = (files, extra = []) => submitJob(cluster.address, files, extra);

// Events i = 0 .. n-1: key i % 7, event time i ms; counted per key in 1 s tumbling windows, or
// with `slide` in 1 s windows every `slide` ms (sliding windows, kept in slices).
// At parallelism 2 and more the sources pre-aggregate for the windows (combiners) unless
// `combiners` is false.
function windowJob(name, { n, rate, parallelism, out, slide, combiners = true }) {
  return `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job(${JSON.stringify(name)}, { parallelism: ${parallelism}, checkpointInterval: 300${combiners ? "" : ", combiners: false"} });
job.source(sources.generator({ count: ${n}, rate: ${rate}, fn: (i: number) => ({ k: i % 7, t: i }) }))
  .assignTimestamps((r: any) => r.t)
  .keyBy((r: any) => r.k)
  .window(${slide === undefined ? "windows.tumbling(1000)" : `windows.sliding(1000, ${slide})`})
  .count()
  .sink(sinks.file({ path: ${JSON.stringify(out)} }));
export default job;
`;
}

function expectedCounts(n, slide = 1000) {
  const expected = new Map();
  for (let i = 0; i < n; i++) {
    for (let start = Math.floor(i / slide) * slide; start > i - 1000; start -= slide) {
      const key = `${i % 7}@${start}`;
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
  }
  return expected;
}

// Reads every file starting with `prefix` in outDir; each window result must be the expected
// count (a result repeated by a replay must repeat the same value) and every window must be there.
function checkWindowResults(prefix, n, slide) {
  const seen = new Map();
  for (const r of sinkRecords(outDir, prefix)) {
    const key = `${r.key}@${r.window.start}`;
    if (seen.has(key)) assert.equal(r.value, seen.get(key), `window ${key} came out twice with different counts`);
    seen.set(key, r.value);
  }
  const expected = expectedCounts(n, slide);
  for (const [key, count] of expected) assert.equal(seen.get(key), count, `window ${key}`);
  assert.equal(seen.size, expected.size);
}

test("checkpoints are taken periodically, and only the last ones are kept", async () => {
  const id = await submit({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("periodic", { parallelism: 2, checkpointInterval: 200, checkpointsRetained: 2 });
job.source(sources.generator({ rate: 5000 })).keyBy((n: number) => n % 10)
  .reduce((a: number, n: number) => a + n).sink(sinks.discard());
export default job;
`,
  });
  const status = await waitForStatus(id, cluster.address, (text) => completed(text) >= 5, 30000);
  assert.match(status, /state:\s+running/);
  const kept = readdirSync(join(checkpointDir, id)).filter((d) =>
    existsSync(join(checkpointDir, id, d, "_metadata")),
  );
  assert.ok(kept.length >= 2 && kept.length <= 3, `kept ${kept}`);
  // A keyed task's snapshot holds its RocksDB checkpoint.
  const latest = status.match(/latest \d+ at (\S+)/)[1];
  assert.ok(readdirSync(latest).some((d) => existsSync(join(latest, d, "state", "CURRENT"))), readdirSync(latest).join());
  const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
});

test("checkpoints are asynchronous and incremental: status shows their parts and sizes, and later ones share files", async () => {
  const id = await submit({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("incremental", { parallelism: 1, checkpointInterval: 250, checkpointsRetained: 3 });
job.source(sources.generator({ rate: 40000 })).keyBy((n: number) => n % 200000)
  .reduce((a: number, n: number) => a + n).sink(sinks.discard());
export default job;
`,
  });
  const size = (n, unit) => Number(n) * (unit === "MB" ? 1048576 : 1024);
  const cost = /latest checkpoint: sync ([\d.]+) ms, async ([\d.]+) ms \(slowest task\); state ([\d.]+) (KB|MB), ([\d.]+) (KB|MB) new/;
  // A checkpoint that shares files with the one before writes less than its whole state.
  const status = await waitForStatus(id, cluster.address, (text) => {
    const m = text.match(cost);
    return m !== null && completed(text) >= 3 && size(m[5], m[6]) < size(m[3], m[4]);
  }, 60000);
  const m = status.match(cost);
  assert.ok(Number(m[2]) > 0, status);
  assert.ok(size(m[3], m[4]) > 0, status);
  // The metrics carry the same figures.
  const metricsUrl = cluster.metrics.coordinator.endsWith("/metrics") ? cluster.metrics.coordinator : `${cluster.metrics.coordinator}/metrics`;
  const metrics = await (await fetch(metricsUrl)).text();
  for (const name of ["sync_seconds", "async_seconds", "state_bytes", "incremental_bytes"]) {
    assert.match(metrics, new RegExp(`sluice_job_checkpoint_${name}\\{job="${id}"\\} [0-9.e+-]+`), name);
  }
  // The latest checkpoint is a whole RocksDB instance (its shared files are hard links).
  const latest = status.match(/latest \d+ at (\S+)/)[1];
  const task = readdirSync(latest).find((d) => existsSync(join(latest, d, "state", "CURRENT")));
  assert.ok(task, readdirSync(latest).join());
  const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
});

test("a worker killed mid-job: the job restarts from its last checkpoint and every window is right", async () => {
  const n = 60000;
  const id = await submit({ "job.ts": windowJob("recover", { n, rate: 12000, parallelism: 2, out: join(outDir, "recover") }) });
  const running = await waitForStatus(id, cluster.address, (text) => completed(text) >= 2, 30000);
  assert.match(running, /-> combine\(/, "the sources pre-aggregate for the windows");
  const victim = cluster.processes[1]; // processes[0] is the coordinator
  victim.kill("SIGKILL");
  // The first failure may be the worker's loss or a task whose exchange peer died with it.
  await waitForStatus(id, cluster.address, (text) => /restarts: [1-9]/.test(text), 15000);
  const done = await waitForStatus(id, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  assert.match(done, /restarts: [1-9]/);
  assert.doesNotMatch(done, new RegExp(`running\\s+${cluster.workerIds[0]}`));
  checkWindowResults("recover", n);
  await cluster.startWorker(); // the next test wants two workers again
});

test("a savepoint at parallelism 2 restored at parallelism 3 gives the results of an uninterrupted run", async () => {
  const n = 80000;
  const files = (out) => ({ "job.ts": windowJob("rescale", { n, rate: 16000, parallelism: 2, out }) });
  const id = await submit(files(join(outDir, "rescale-a")));
  await waitForStatus(id, cluster.address, (text) => completed(text) >= 2, 30000);
  const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
  assert.equal(savepoint.code, 0, savepoint.stderr);
  const path = savepoint.stdout.trim();
  assert.ok(existsSync(join(path, "_metadata")), path);
  const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  await waitForStatus(id, cluster.address);

  const restored = await submit(files(join(outDir, "rescale-b")), ["-p", "3", "--from-savepoint", path]);
  const done = await waitForStatus(restored, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  assert.equal((done.match(/g1\.\d/g) ?? []).length >= 3, true, done);
  checkWindowResults("rescale-", n);
});

test("sliding windows (slices): a savepoint at parallelism 2 restored at parallelism 3 gives the results of an uninterrupted run", async () => {
  const n = 60000;
  const files = (out) => ({ "job.ts": windowJob("slices", { n, rate: 16000, parallelism: 2, out, slide: 250 }) });
  const id = await submit(files(join(outDir, "slices-a")));
  await waitForStatus(id, cluster.address, (text) => completed(text) >= 2, 30000);
  const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
  assert.equal(savepoint.code, 0, savepoint.stderr);
  const path = savepoint.stdout.trim();
  const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  await waitForStatus(id, cluster.address);

  const restored = await submit(files(join(outDir, "slices-b")), ["-p", "3", "--from-savepoint", path]);
  const done = await waitForStatus(restored, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  checkWindowResults("slices-", n, 250);
});

// Combiners hold nothing across a barrier: a savepoint taken with them restores without them,
// and the reverse.
for (const [first, then] of [[true, false], [false, true]]) {
  test(`a savepoint ${first ? "with" : "without"} combiners restored ${then ? "with" : "without"} them gives the results of an uninterrupted run`, async () => {
    const n = 60000;
    const prefix = `combiners-${first}-`;
    const files = (out, combiners) => ({ "job.ts": windowJob(prefix, { n, rate: 16000, parallelism: 2, out, slide: 250, combiners }) });
    const id = await submit(files(join(outDir, prefix + "a"), first));
    const running = await waitForStatus(id, cluster.address, (text) => completed(text) >= 2, 30000);
    assert.equal(/-> combine\(/.test(running), first, running);
    const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
    assert.equal(savepoint.code, 0, savepoint.stderr);
    const path = savepoint.stdout.trim();
    const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await waitForStatus(id, cluster.address);

    const restored = await submit(files(join(outDir, prefix + "b"), then), ["-p", "3", "--from-savepoint", path]);
    const done = await waitForStatus(restored, cluster.address, undefined, 60000);
    assert.match(done, /state:\s+finished/);
    assert.equal(/-> combine\(/.test(done), then, done);
    checkWindowResults(prefix, n, 250);
  });
}

// At parallelism 1 the keyBy is chained (the window runs in the source's task, no exchange); at
// 2 it is an exchange. Snapshots name operators, not tasks, so a savepoint of either plan
// restores into the other.
for (const [from, to] of [[1, 2], [2, 1]]) {
  test(`a savepoint at parallelism ${from} restored at parallelism ${to} (keyBy ${from === 1 ? "chained, then an exchange" : "an exchange, then chained"}) gives the results of an uninterrupted run`, async () => {
    const n = 60000;
    const prefix = `chained-${from}-${to}-`;
    const files = (out, p) => ({ "job.ts": windowJob(prefix, { n, rate: 16000, parallelism: p, out, slide: 250 }) });
    const id = await submit(files(join(outDir, prefix + "a"), from));
    const running = await waitForStatus(id, cluster.address, (text) => completed(text) >= 2, 30000);
    // One task group at parallelism 1 (source -> window -> sink), two behind an exchange.
    assert.equal(/g1\.0/.test(running), from !== 1, running);
    const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
    assert.equal(savepoint.code, 0, savepoint.stderr);
    const path = savepoint.stdout.trim();
    const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await waitForStatus(id, cluster.address);

    const restored = await submit(files(join(outDir, prefix + "b"), to), ["-p", String(to), "--from-savepoint", path]);
    const done = await waitForStatus(restored, cluster.address, undefined, 60000);
    assert.match(done, /state:\s+finished/);
    assert.equal(/g1\.0/.test(done), to !== 1, done);
    checkWindowResults(prefix, n, 250);
  });
}

// The inodes of the SST files of a checkpoint or savepoint directory (every task's state).
function sstInodes(dir) {
  const inodes = new Set();
  for (const task of readdirSync(dir)) {
    const state = join(dir, task, "state");
    if (!existsSync(state)) continue;
    for (const f of readdirSync(state).filter((f) => f.endsWith(".sst"))) inodes.add(statSync(join(state, f)).ino);
  }
  return inodes;
}

test("a chain of incremental checkpoints whose oldest retention removed restores at the same and at another parallelism", async () => {
  const n = 150000, keys = 5000;
  const job = (out, parallelism) => ({ "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("chain", { parallelism: ${parallelism}, checkpointInterval: 150, checkpointsRetained: 1 });
job.source(sources.generator({ count: ${n}, rate: 10000, fn: (i: number) => ({ k: i % ${keys}, v: i }) }))
  .keyBy((r: any) => r.k)
  .reduce((a: any, r: any) => ({ k: a.k, v: a.v + r.v }))
  .sink(sinks.file({ path: ${JSON.stringify(out)} }));
export default job;
` });
  const id = await submit(job(join(outDir, "chain-a"), 2));
  const running = await waitForStatus(id, cluster.address, (text) => completed(text) >= 6, 30000);
  // Same parallelism: a worker running a keyed task dies, the job restarts from its latest
  // checkpoint (whose files the checkpoints before it, deleted by retention, wrote in part).
  const worker = running.match(/g1\.0\s+running\s+(\S+)/)[1];
  cluster.processes[cluster.workerIds.indexOf(worker) + 1].kill("SIGKILL");
  await waitForStatus(id, cluster.address, (text) => /restarts: [1-9]/.test(text), 15000);
  const before = completed(await waitForStatus(id, cluster.address, (text) => /state:\s+running/.test(text), 30000));
  await waitForStatus(id, cluster.address, (text) => completed(text) >= before + 4, 60000);
  // A savepoint shares SST files with the checkpoint before it (the same inodes, while both
  // exist); retention then deletes that checkpoint.
  const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
  assert.equal(savepoint.code, 0, savepoint.stderr);
  const path = savepoint.stdout.trim();
  const saved = sstInodes(path);
  const jobDir = join(checkpointDir, id);
  const sharing = readdirSync(jobDir).filter((d) => d.startsWith("chk-") && join(jobDir, d) !== path)
    .filter((d) => { try { return [...sstInodes(join(jobDir, d))].some((ino) => saved.has(ino)); } catch { return false; } });
  assert.ok(sharing.length > 0, `the savepoint shares files with a checkpoint: ${readdirSync(jobDir)}`);
  const status = await waitForStatus(id, cluster.address, () => sharing.every((d) => !existsSync(join(jobDir, d))), 30000);
  assert.match(status, /state:\s+running/, "still running: the input is not through yet");
  // A chain: at least 6 before the kill, 4 after the restart, and the one whose retention
  // deleted the checkpoint the savepoint shares files with (a fixed count raced with the last).
  assert.ok(completed(status) >= before + 5, `many checkpoints: ${completed(status)}, ${before} at the restart`);
  const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
  assert.equal(cancelled.code, 0, cancelled.stderr);
  await waitForStatus(id, cluster.address);
  await cluster.startWorker();  // room for parallelism 3

  // Another parallelism: restored at 3 from the savepoint; every key's final sum is right
  // (running sums only grow, so the largest value printed per key is its last).
  const restored = await submit(job(join(outDir, "chain-b"), 3), ["-p", "3", "--from-savepoint", path]);
  const done = await waitForStatus(restored, cluster.address, undefined, 90000);
  assert.match(done, /state:\s+finished/);
  // A sink file the killed worker was writing may hold one torn line (the file sink is
  // at-least-once and appends after a restart); nothing else may be unreadable.
  const best = new Map();
  const torn = [];
  for (const file of readdirSync(outDir).filter((f) => f.startsWith("chain-"))) {
    for (const line of readFileSync(join(outDir, file), "utf8").split("\n")) {
      if (line === "") continue;
      let r;
      try { r = JSON.parse(line); } catch { torn.push(`${file}: ${line}`); continue; }
      best.set(r.k, Math.max(best.get(r.k) ?? 0, r.v));
    }
  }
  assert.ok(torn.length <= 2, torn.join("\n"));
  for (let k = 0; k < keys; k++) {
    let sum = 0;
    for (let i = k; i < n; i += keys) sum += i;
    assert.equal(best.get(k), sum, `key ${k}`);
  }
});
