// Processing-time tumbling and sliding windows keep their processing-time timers themselves
// (windows.js; window_slices.js EndTimers of kind "processing_end"), not in ctx.timers: they fire
// when the clock passes them and at the end of input in the order ctx.timers fired them, their
// checkpoints are written incrementally and restored at any parallelism, a checkpoint of the old
// operator (windows_oracle.js: ctx.timers' processing-time timers) still restores and fires, and
// an operator that keeps none turns them into ctx.timers' processing-time timers.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";
import { TimerService, copy, harness, prng, runtime, keys as keyLib, MAX_PARALLELISM }
  from "./window_harness.mjs";

const oraclePath = path.join(path.dirname(fileURLToPath(import.meta.url)), "windows_oracle.js");
const oracle = vm.runInThisContext(fs.readFileSync(oraclePath, "utf8"), { filename: oraclePath });
const groupOf = (key) => keyLib.keyGroupOf(key, MAX_PARALLELISM);
const KEYS = ["a", "b", "c", "d", "e", "f", 7, 12];

const tumbling = { assigner: { type: "tumbling", size: 10 }, time: "processing",
                   function: "count" };
const sliding = { assigner: { type: "sliding", size: 4, slide: 2 }, time: "processing",
                  function: "count" };
const fired = (h) => h.take().map(([key, w, value]) => key + w[0] + ":" + w[1] + "=" + value);

// Records [now, key] fed with the clock set (not fired) to `now`.
function feed(h, records) {
  for (const [now, key] of records) {
    h.setNow(now);
    h.add(key, {}, undefined);
  }
}

test("processing-time windows keep one timer per key and window themselves, none in ctx.timers",
     () => {
  for (const config of [tumbling, sliding,
                        { ...tumbling, trigger: { type: "count", count: 2 } }]) {
    const h = harness(config);
    feed(h, [[3, "a"], [3, "b"], [5, "a"], [12, "a"]]);
    assert.equal(h.ctx.timers.size, 0, JSON.stringify(config));
    // Sliding: a and b in [0, 4) and [2, 6), a in [4, 8) at 5, and [10, 14), [12, 16) at 12.
    const windows = config === sliding ? 7 : 3;
    assert.equal(h.timerCount(), windows);
    assert.equal(h.op.processingTimers.count, windows);
    const entries = h.snapshotTimers();
    for (const [, key] of entries) assert.match(key, /^\["processing_end",\d+,\d+\]$/);
    assert.equal(entries.reduce((n, [, , v]) => n + JSON.parse(v)[2].length, 0), windows);
  }
  // Event-time windows and processing-time sessions keep theirs as before.
  const event = harness({ assigner: { type: "tumbling", size: 10 }, function: "count" });
  assert.equal(event.op.processingTimers, null);
  const sessions = harness({ assigner: { type: "session", gap: 5 }, time: "processing",
                             function: "count" });
  assert.equal(sessions.op.processingTimers, null);
  feed(sessions, [[1, "a"]]);
  assert.equal(sessions.ctx.timers.size, 1);
});

test("they fire by time, each time's keys in registration order, as the old operator's", () => {
  const ours = harness(sliding), theirs = harness(sliding, {}, { lib: oracle });
  const both = (f) => {
    f(ours);
    f(theirs);
  };
  const expect = (list) => {
    assert.deepEqual(fired(theirs), list, "the old operator");
    assert.deepEqual(fired(ours), list);
  };
  both((h) => feed(h, [[1, "b"], [1, "a"], [3, "c"], [3, "a"], [4, "d"]]));
  both((h) => h.advance(4));  // times 1 and 3: [-2, 2) and [0, 4)
  expect(["b-2:2=1", "a-2:2=1", "b0:4=1", "a0:4=2", "c0:4=1"]);
  both((h) => feed(h, [[6, "b"], [7, "d"]]));
  both((h) => h.advance(7));  // times 5 and 7: [2, 6) and [4, 8), d's first (registered at 4)
  expect(["c2:6=1", "a2:6=1", "d2:6=1", "d4:8=2", "b4:8=1"]);
  both((h) => h.advance(100));
  expect(["b6:10=1", "d6:10=1"]);
  ours.assertEmpty();
});

test("a window opened again at a time that fired fires at the next advance, also after a " +
     "checkpoint", () => {
  // a's [0, 10) fires at 9; a record at 9 opens it again: a new timer at 9, a checkpoint entry
  // whose key may be the fired one's (deleted by the same checkpoint, before it is written).
  const h = harness(tumbling);
  feed(h, [[3, "a"], [5, "b"]]);
  h.snapshotTimers();
  h.advance(9);
  assert.deepEqual(fired(h), ["a0:10=1", "b0:10=1"]);
  feed(h, [[9, "a"]]);
  const table = new Map(copy([...h.table]));
  h.beginTimers();
  h.advance(9);  // fires before the checkpoint's writes: they have it as it was at the barrier
  const entries = h.finishTimers(1);
  assert.deepEqual(fired(h), ["a0:10=1"]);
  h.assertEmpty();
  assert.deepEqual(entries.map(([, key, value]) => [key, JSON.parse(value)[3]]),
                   [['["processing_end",9,0]', ["a"]]]);
  const restored = harness(tumbling, {}, { table, timerEntries: entries });
  assert.equal(restored.timerCount(), 1);
  restored.advance(9);
  assert.deepEqual(fired(restored), ["a0:10=1"]);
  restored.assertEmpty();
});

test("the end of input fires them (and a count trigger's pending elements)", () => {
  const h = harness(tumbling);
  feed(h, [[3, "a"], [12, "b"], [13, "a"]]);
  h.watermark(5000);  // the watermark plays no part in processing time
  assert.deepEqual(fired(h), []);
  h.watermark(Infinity);
  assert.deepEqual(fired(h), ["a0:10=1", "b10:20=1", "a10:20=1"]);
  h.assertEmpty();
  const count = harness({ ...tumbling, trigger: { type: "count", count: 2 } });
  feed(count, [[1, "a"], [2, "a"], [3, "a"], [4, "b"], [15, "a"]]);
  assert.deepEqual(fired(count), ["a0:10=2"]);
  count.advance(9);  // cleanup: the pending third element of a is dropped, as in Flink
  assert.deepEqual(fired(count), []);
  count.watermark(Infinity);
  assert.deepEqual(fired(count), ["a10:20=1"]);
  count.assertEmpty();
});

test("a checkpoint of the old operator (ctx.timers' timers) restores: at one time its timers " +
     "fire first, then the new ones", () => {
  const before = [[1, "b"], [2, "a"], [11, "c"]];
  const after = [[4, "d"], [5, "a"], [6, "e"], [12, "b"], [13, "f"]];
  const old = harness(tumbling, {}, { lib: oracle });
  feed(old, before);
  const timerEntries = old.snapshotTimers();
  for (const [, key] of timerEntries) assert.match(key, /^\[1,\d+,"\d+:\d+","\w"\]$/);
  const whole = harness(tumbling, {}, { lib: oracle });
  feed(whole, before.concat(after));
  whole.watermark(Infinity);
  const expected = fired(whole);
  assert.deepEqual(expected, ["b0:10=1", "a0:10=2", "d0:10=1", "e0:10=1", "c10:20=1",
                              "b10:20=1", "f10:20=1"]);

  const restored = harness(tumbling, {}, { table: new Map(copy([...old.table])), timerEntries });
  assert.equal(restored.ctx.timers.size, 3, "the old timers are ctx.timers'");
  feed(restored, after);
  assert.equal(restored.op.processingTimers.count, 4, "the new ones the operator's");
  restored.advance(9);
  assert.deepEqual(fired(restored), expected.slice(0, 4));
  restored.watermark(Infinity);  // the end of input: both again
  assert.deepEqual(fired(restored), expected.slice(4));
  restored.assertEmpty();
  // The next checkpoint deletes the old timers' entries: nothing stays.
  assert.deepEqual(restored.snapshotTimers(), []);
});

test("a checkpoint of the operator's own timers restores at another parallelism, in order", () => {
  const records = [[1, "b"], [1, "a"], [3, "c"], [3, "a"], [4, 7], [6, "b"], [7, 12]];
  const h = harness(sliding);
  feed(h, records.slice(0, 4));
  h.beginTimers();  // the barrier; written later, while records keep coming
  const table = new Map(copy([...h.table]));
  feed(h, records.slice(4));
  const entries = h.finishTimers(1);
  h.advance(100);
  const expected = fired(h);
  h.assertEmpty();
  // Two subtasks, by key group, each restored from its key groups' entries.
  const outs = [0, 1].map((half) => {
    const mine = (kg) => (kg < 60) === (half === 0);
    const part = harness(sliding, {}, {
      table: new Map([...table].filter(([id]) => mine(Number(id.split("\u0000")[0])))),
      timerEntries: entries.filter(([kg]) => mine(kg)) });
    assert.equal(part.ctx.timers.size, 0, "restored into the operator's own");
    feed(part, records.slice(4).filter(([, key]) => mine(groupOf(key))));
    part.advance(100);
    part.assertEmpty();
    return fired(part);
  });
  assert.ok(outs[0].length > 0 && outs[1].length > 0, "both subtasks have keys");
  for (const out of outs) {
    assert.deepEqual(out, expected.filter((f) => out.includes(f)), "the uninterrupted order");
  }
  assert.equal(outs[0].length + outs[1].length, expected.length);
});

test("own processing-time timers restored into an operator that keeps none become ctx.timers' " +
     "processing-time timers, in order", () => {
  const h = harness(sliding);
  feed(h, [[1, "b"], [1, "a"], [3, "c"]]);
  const entries = h.snapshotTimers();
  const expected = ["b1@-2:2", "a1@-2:2", "b3@0:4", "a3@0:4", "c3@0:4", "c5@2:6"];
  for (const store of [null, "event-time window end timers"]) {
    const timers = new TimerService();
    timers.restoreEntries(copy(entries));
    if (store === null) {
      timers.adopt(null, "end", runtime.window_config.ownTimers);
    } else {  // an event-time operator's store, of kind "end"
      timers.adopt(new runtime.window_slices.EndTimers(), "end", runtime.window_config.ownTimers);
    }
    assert.equal(timers.size, 6);
    assert.equal(timers.nextEventTime(), Infinity, "not event-time timers");
    assert.equal(timers.nextProcessingTime(), 1);
    timers.advanceWatermark(Infinity, () => assert.fail("an event-time timer fired"));
    const got = [];
    timers.advanceProcessingTime(Infinity, (t) => got.push(t.keyString + t.time + "@" +
                                                             t.namespace));
    assert.deepEqual(got, expected, String(store));
    // The next checkpoint deletes the own entries.
    const out = [];
    timers.freezeChanges(out);
    while (!timers.takeFrozen(10)) {}
    assert.deepEqual(out.filter((x, i) => i % 3 === 2), entries.map(() => null));
  }
});

test("a malformed processing_end entry is an error naming it", () => {
  const timers = new TimerService();
  timers.restoreEntries([[3, '["processing_end",9,0]', "[0,10,[0],[\"a\"]]"]]);
  assert.throws(() => timers.adopt(null, "end", runtime.window_config.ownTimers),
                /the stored timers \["processing_end",9,0\] of key group 3 are not \["end" or "processing_end", time, seq\]/);
});

// Random inputs: records, the clock set and the clock firing; checkpoints taken as a task takes
// them (the barrier, then the writes a few steps later, in small budgets) of the operator or, for
// the first, of the old one; failures restored at parallelism 1 to 3. Every subtask emits what the
// old operator emits uninterrupted for its keys, in the same order.
function randomConfig(rand) {
  const size = [1, 2, 3, 5, 10][Math.floor(rand() * 5)];
  const config = rand() < 0.7 ? { assigner: { type: "tumbling", size } }
    : { assigner: { type: "sliding", size: 2 * size, slide: size } };
  config.time = "processing";
  if (rand() < 0.25) config.trigger = { type: "count", count: 1 + Math.floor(rand() * 3) };
  config.function = "count";
  return config;
}

// Steps: ["add", key, now], ["advance", now]; `now` never goes back. reopen: a record may come
// at the time of the advance before it (and open a window that fired again); without it, the
// clock moves on first. (The old operator's checkpoints can lose such a timer: ctx.timers writes
// the fired timer's deletion after the new one of the same entry key when the new one fires
// before the checkpoint's writes reach it.)
function randomSteps(rand, n, reopen) {
  const steps = [];
  let now = Math.floor(rand() * 20), advanced = false;
  for (let i = 0; i < n; i++) {
    now += rand() < 0.3 ? Math.floor(rand() * 3) : 0;
    if (rand() < 0.8) {
      if (advanced && !reopen) now++;
      steps.push(["add", KEYS[Math.floor(rand() * KEYS.length)], now]);
      advanced = false;
    } else {
      steps.push(["advance", now]);
      advanced = true;
    }
  }
  return steps;
}

function subtasks(config, parts, checkpoint, lib) {
  const list = [];
  for (let index = 0; index < parts; index++) {
    const mine = (kg) => kg % parts === index;
    const options = { lib };
    if (checkpoint !== null) {
      options.table = new Map(copy(checkpoint.table.filter(
          ([id]) => mine(Number(id.split("\u0000")[0])))));
      options.timerEntries = checkpoint.timers.filter(([kg]) => mine(kg));
    }
    list.push({ h: harness(config, {}, options), mine, out: [] });
  }
  return list;
}

// Runs steps [from, end) on the subtasks; returns the last completed checkpoint once a step at or
// after failAt is reached, or null when it ran to the end (then the input ends).
function runFrom(rand, steps, from, tasks, failAt) {
  let inFlight = null, completed = null;
  for (let i = from; i < steps.length; i++) {
    if (i >= failAt && completed !== null) return completed;
    if (inFlight === null && rand() < 0.08) {
      inFlight = { step: i, at: i + Math.floor(rand() * 6), outs: tasks.map((t) => t.out.length),
                   table: tasks.flatMap((t) => copy([...t.h.table])) };
      for (const t of tasks) t.h.beginTimers();
    }
    if (inFlight !== null && i >= inFlight.at) {
      const timers = tasks.flatMap((t) => t.h.finishTimers(1 + Math.floor(rand() * 4)));
      completed = { ...inFlight, timers };
      inFlight = null;
    }
    const [what, a, b] = steps[i];
    if (what === "add") {
      const task = tasks.find((t) => t.mine(groupOf(a)));
      task.h.setNow(b);
      task.h.add(a, {}, undefined);
    } else {
      for (const t of tasks) t.h.advance(a);
    }
    for (const t of tasks) t.out.push(...t.h.take());
  }
  for (const t of tasks) {
    t.h.watermark(Infinity);
    t.out.push(...t.h.take());
    t.h.assertEmpty();
  }
  return null;
}

test("random inputs: incremental checkpoints, old and new, restored at any parallelism, fire as " +
     "without a failure", () => {
  let restores = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const rand = prng(seed);
    const config = randomConfig(rand);
    // The first leg runs the old operator half the time: its checkpoint is the old format.
    const old = seed % 2 === 0;
    const steps = randomSteps(rand, 250, !old);
    const what = JSON.stringify(config) + " seed " + seed;
    const [whole] = subtasks(config, 1, null, oracle);
    runFrom(() => 1, steps, 0, [whole], Infinity);
    let tasks = subtasks(config, 1, null, old ? oracle : undefined);
    let from = 0;
    const emitted = [];
    for (const parts of [1 + Math.floor(rand() * 3), 1 + Math.floor(rand() * 3), 0]) {
      const failAt = parts === 0 ? Infinity : from + 50 + Math.floor(rand() * 60);
      const cp = runFrom(rand, steps, from, tasks, failAt);
      if (cp === null) {
        for (const t of tasks) emitted.push(t.out);
        break;
      }
      tasks.forEach((t, i) => emitted.push(t.out.slice(0, cp.outs[i])));
      tasks = subtasks(config, parts, cp);
      // The clock as at the barrier (a restored task's is later; here the outputs stay comparable).
      const at = steps.slice(0, cp.step).reverse().find(([w]) => w === "add");
      if (at !== undefined) for (const t of tasks) t.h.setNow(at[2]);
      from = cp.step;
      restores++;
    }
    for (const key of KEYS) {
      const mineOf = (list) => list.filter(([k]) => k === key);
      assert.deepEqual(emitted.flatMap(mineOf), mineOf(whole.out), what + ": key " + key);
    }
    assert.equal(emitted.reduce((n, o) => n + o.length, 0), whole.out.length, what);
  }
  assert.ok(restores > 200, "restores: " + restores);
});
