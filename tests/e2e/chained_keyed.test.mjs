// Two keyed operators in one task (issue 17, "no exchange where none is needed"), on a real
// cluster: at parallelism 1 a keyBy into a second window is a call inside the task of the
// first; at 2 it is an exchange between tasks. Both plans give the same records (a q5-like and
// a q7-like job, checked against what the records must be), and a savepoint moves between them:
// taken at 2 (separate tasks) it restores at 1 (one task holding both operators' state), whose
// checkpoints restore at 1 again (the task's files reused), then at 2, and at 2 with the second
// keyBy marked already partitioned (one task per subtask again), and the results are those of
// an uninterrupted run.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, makeProject, sluice, waitForStatus, submitJob, checkpointsCompleted, sinkRecords } from "./harness.mjs";

let cluster;
let checkpointDir;
let outDir;
before(async () => {
  checkpointDir = mkdtempSync(join(tmpdir(), "sluice-chain2-chk-"));
  outDir = mkdtempSync(join(tmpdir(), "sluice-chain2-out-"));
  cluster = await startCluster({
    workers: 2,
    slots: 4,
    coordinatorArgs: ["--checkpoint-dir", checkpointDir],
  });
});
after(async () => {
  await cluster?.stop();
  rmSync(checkpointDir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

const completed = checkpointsCompleted;
const submit = (files, extra = []) => submitJob(cluster.address, files, extra);

// Events i = 0 .. n-1: key i % 7, event time i ms.
//  "hot" (as q5): counts per key in sliding windows of 1 s every 250 ms, then (keyBy the key
//  again) per key in 2 s tumbling windows the sum of those counts and how many there were (so
//  that the second operator holds state across checkpoints).
//  "max" (as q7): per key the greatest i in 500 ms tumbling windows (a reduce), then per
//  window start (keyBy) the greatest of those.
//  "hot"'s second keyBy: by default (c) => String(c.key), the same key but a selector Sluice
//  does not see through, so at p = 2 an exchange; with partitioned the same selector with
//  { partitioned: true } (right: a count keeps its key); with auto (c) => c.key, which Sluice
//  knows keeps a window's key (common/key_partitioning.h). "max" with partitioned marks its
//  second keyBy (by window start) wrongly. checkpoints: every 300 ms unless false.
function job(name, { kind, n, rate, parallelism, out, partitioned = false, auto = false, checkpoints = true }) {
  const again = partitioned ? ", { partitioned: true }" : "";
  const sameKey = auto ? "(c: any) => c.key" : "(c: any) => String(c.key)";
  const head = `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job(${JSON.stringify(name)}, { parallelism: ${parallelism}${checkpoints ? ", checkpointInterval: 300" : ""} });
job.source(sources.generator({ count: ${n},${rate ? ` rate: ${rate},` : ""} fn: (i: number) => ({ k: i % 7, t: i }) }))
  .assignTimestamps((r: any) => r.t)
  .keyBy((r: any) => r.k)`;
  const tail = `
  .sink(sinks.file({ path: ${JSON.stringify(out)} }));
export default job;
`;
  if (kind === "hot") {
    return head + `
  .window(windows.sliding(1000, 250))
  .count()
  .name("per-key")
  .keyBy(${sameKey}${again})
  .window(windows.tumbling(2000))
  .aggregate({
    create: () => ({ total: 0, counts: 0 }),
    add: (a: any, c: any) => ({ total: a.total + c.value, counts: a.counts + 1 }),
  })
  .name("per-window")` + tail;
  }
  return head + `
  .window(windows.tumbling(500))
  .reduce((a: any, b: any) => (b.t > a.t ? b : a))
  .name("max-per-key")
  .keyBy((r: any) => r.window.start${again})
  .window(windows.tumbling(500))
  .reduce((a: any, b: any) => (b.value.t > a.value.t ? b : a))
  .name("max")` + tail;
}

// What each job's records must be, by a string that names the record's window.
function expected(kind, n) {
  const out = new Map();
  if (kind === "hot") {
    for (let end = 250; end - 1000 < n; end += 250) {
      const counts = new Array(7).fill(0);
      for (let i = Math.max(0, end - 1000); i < Math.min(n, end); i++) counts[i % 7]++;
      const start = Math.floor((end - 1) / 2000) * 2000;  // a count's time is its window's end - 1
      for (let k = 0; k < 7; k++) {
        if (counts[k] === 0) continue;
        const key = `${k}@${start}`;
        const sum = out.get(key) ?? { total: 0, counts: 0 };
        out.set(key, { total: sum.total + counts[k], counts: sum.counts + 1 });
      }
    }
  } else {
    for (let start = 0; start < n; start += 500) {
      const last = Math.min(n, start + 500) - 1;
      out.set(String(start), { k: last % 7, t: last });
    }
  }
  return out;
}

function actual(kind, r) {
  if (kind === "hot") return [`${r.key}@${r.window.start}`, r.value];
  return [String(r.value.window.start), r.value.value];
}

// Every file starting with `prefix` in outDir: each window's record is right (a record a
// replay repeats must be the same) and every window is there.
function check(kind, prefix, n) {
  const seen = new Map();
  for (const record of sinkRecords(outDir, prefix)) {
    const [key, value] = actual(kind, record);
    if (seen.has(key)) assert.deepEqual(value, seen.get(key), `window ${key} came out twice, differently`);
    seen.set(key, value);
  }
  const want = expected(kind, n);
  for (const [key, value] of want) assert.deepEqual(seen.get(key), value, `window ${key}`);
  assert.equal(seen.size, want.size);
}

// The status of a job whose plan is one task group holding both keyed operators (p = 1) or
// separate ones behind exchanges (p = 2).
function assertPlan(status, parallelism, first, second) {
  const chained = new RegExp(`${first} -> ${second}`);
  assert.equal(chained.test(status), parallelism === 1, status);
  assert.equal(/g1\.0/.test(status), parallelism !== 1, status);
}

for (const kind of ["hot", "max"]) {
  test(`${kind === "hot" ? "q5" : "q7"}-like: two keyed operators give the same records in one task (p = 1) as in separate ones (p = 2)`, async () => {
    const n = 20000;
    const [first, second] = kind === "hot" ? ["per-key", "per-window"] : ["max-per-key", "max"];
    for (const parallelism of [1, 2]) {
      const prefix = `${kind}-${parallelism}-`;
      const id = await submit({ "job.ts": job(prefix, { kind, n, parallelism, out: join(outDir, prefix + "a") }) });
      const done = await waitForStatus(id, cluster.address, undefined, 60000);
      assert.match(done, /state:\s+finished/);
      assertPlan(done, parallelism, first, second);
      check(kind, prefix, n);
    }
  });
}

// keyBy(fn, { partitioned: true }) at p = 2: the q5-like job's counts keep their key, so its
// second window runs in the first one's task (no exchange between them) with the same records;
// so it does unmarked when its selector is (c) => c.key, which Sluice sees keeps the key.
// The q7-like job's second key (a window start) is not the first one's: the first record whose
// key another subtask owns fails the job, naming the operator and the key.
test("an already partitioned keyBy at p = 2 chains the second window into the first one's task; a wrong one fails naming the key", async () => {
  const n = 20000;
  const prefix = "hot-partitioned-";
  let id = await submit({ "job.ts": job(prefix, { kind: "hot", n, parallelism: 2, partitioned: true, out: join(outDir, prefix + "a") }) });
  let done = await waitForStatus(id, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  assert.match(done, /per-key -> per-window/, done);
  assert.match(done, /g1\.1/, done);
  assert.doesNotMatch(done, /g2\.0/, done);
  check("hot", prefix, n);

  const auto = "hot-auto-";
  id = await submit({ "job.ts": job(auto, { kind: "hot", n, parallelism: 2, auto: true, out: join(outDir, auto + "a") }) });
  done = await waitForStatus(id, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  assert.match(done, /per-key -> per-window/, done);
  check("hot", auto, n);

  const wrong = "max-partitioned-";
  id = await submit({ "job.ts": job(wrong, { kind: "max", n, parallelism: 2, partitioned: true, checkpoints: false, out: join(outDir, wrong + "a") }) });
  done = await waitForStatus(id, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+failed/, done);
  assert.match(done, /operator 'max' \(op\d+\)/, done);
  assert.match(done, /the key "\d+" is in key group \d+, which subtask [01] of 2 does not own \(it owns key groups \d+-\d+\)/, done);
  assert.match(done, /keyBy\(\.\.\., \{ partitioned: true \}\) says the stream is already partitioned by this key, and it is not/, done);
});

test("a savepoint at p = 2 (separate tasks) restores at p = 1 (one task, two keyed operators), again at 1, then at 2, then at 2 marked partitioned (one task again), with exact results", async () => {
  const n = 200000;
  const prefix = "moves-";
  const files = (out, parallelism, partitioned = false) => ({ "job.ts": job(prefix, { kind: "hot", n, rate: 20000, parallelism, partitioned, out }) });
  let id = await submit(files(join(outDir, prefix + "a"), 2));
  let path = null;
  const phases = [{ p: 1 }, { p: 1 }, { p: 2 }, { p: 2, partitioned: true }];
  for (let i = 0; i <= phases.length; i++) {
    const running = await waitForStatus(id, cluster.address, (text) => completed(text) >= 2 || /state:\s+(finished|failed)/.test(text), 30000);
    assert.match(running, /state:\s+running/, `phase ${i} ended before its savepoint: ${running}`);
    const phase = i === 0 ? { p: 2 } : phases[i - 1];
    if (phase.partitioned) {
      assert.match(running, /per-key -> per-window/, running);
      assert.match(running, /g1\.1/, running);
    } else {
      assertPlan(running, phase.p, "per-key", "per-window");
    }
    if (i === phases.length) break;
    const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
    assert.equal(savepoint.code, 0, savepoint.stderr);
    path = savepoint.stdout.trim();
    const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    await waitForStatus(id, cluster.address);
    const { p, partitioned } = phases[i];
    id = await submit(files(join(outDir, prefix + "bcde"[i]), p, partitioned), ["-p", String(p), "--from-savepoint", path]);
  }
  const done = await waitForStatus(id, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  check("hot", prefix, n);
});
