// Checkpoints of the window operator's own timers (timers.js, "Own timers"; window_slices.js
// EndTimers, window_sessions.js SessionTimers) taken as a task takes them: incrementally, the
// barrier first and the writing later while records keep coming, and restored from the end of
// such a chain into one subtask or split by key group into several (a rescale), then again.
// Whatever happens, every subtask emits what an uninterrupted run emits for its keys, in the
// same order.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TimerService, copy, harness, prng, runtime, keys as keyLib, MAX_PARALLELISM }
  from "./window_harness.mjs";

const KEYS = ["a", "b", "c", "d", "e", "f", 7, 12];
const groupOf = (key) => keyLib.keyGroupOf(key, MAX_PARALLELISM);

function randomConfig(rand) {
  const r = rand();
  let config;
  if (r < 0.4) {
    const slide = 1 + Math.floor(rand() * 4);
    config = { assigner: { type: "sliding", size: slide * (1 + Math.floor(rand() * 4)), slide } };
  } else if (r < 0.7) {
    config = { assigner: { type: "tumbling", size: 1 + Math.floor(rand() * 8) } };
  } else {
    config = { assigner: { type: "session", gap: 1 + Math.floor(rand() * 6) } };
  }
  if (rand() < 0.4) config.allowedLateness = [1, 2, 3, 7][Math.floor(rand() * 4)];
  config.function = "count";
  return config;
}

// Input steps: ["add", key, ts] or ["watermark", w].
function randomSteps(rand, n) {
  const steps = [];
  let time = 0, watermark = -Infinity;
  for (let i = 0; i < n; i++) {
    if (rand() < 0.8) {
      time += Math.floor(rand() * 3);
      const ts = rand() < 0.15 ? time - Math.floor(rand() * 10) : time;
      steps.push(["add", KEYS[Math.floor(rand() * KEYS.length)], ts]);
    } else {
      const w = time - Math.floor(rand() * 6);
      if (w > watermark) {
        watermark = w;
        steps.push(["watermark", w]);
      }
    }
  }
  return steps;
}

// Subtasks owning key groups kg % parts === index, from a checkpoint (or fresh).
function subtasks(config, parts, checkpoint) {
  const list = [];
  for (let index = 0; index < parts; index++) {
    const mine = (kg) => kg % parts === index;
    const options = {};
    if (checkpoint !== null) {
      const groupOfId = (id) => Number(id.split("\u0000")[0]);
      options.table = new Map(copy(checkpoint.table.filter(([id]) => mine(groupOfId(id)))));
      options.timerEntries = checkpoint.timers.filter(([kg]) => mine(kg));
    }
    const h = harness(config, {}, options);
    if (checkpoint !== null) h.setWatermark(checkpoint.watermark);
    list.push({ h, mine, out: [] });
  }
  return list;
}

// Runs steps [from, steps.length) on the subtasks, taking checkpoints now and then (barrier at
// one step, written a few steps later in small budgets) and failing at `failAt` or the first
// step after it when a checkpoint completed: returns the last completed checkpoint then, or
// null when it ran to the end.
function runFrom(rand, steps, from, tasks, failAt) {
  let watermark = from === 0 ? -Infinity : undefined;
  let inFlight = null, completed = null;
  const take = () => {
    for (const t of tasks) t.out.push(...t.h.take());
  };
  for (let i = from; i < steps.length; i++) {
    if (i >= failAt && completed !== null) return completed;  // (fails once one completed)
    if (inFlight === null && rand() < 0.08) {
      // The barrier: the state as it is, the timers' changes frozen.
      inFlight = { step: i, watermark: tasks[0].h.ctx.watermark(), at: i + Math.floor(rand() * 6),
                   table: tasks.flatMap((t) => copy([...t.h.table])),
                   outs: tasks.map((t) => t.out.length) };
      for (const t of tasks) t.h.beginTimers();
    }
    if (inFlight !== null && i >= inFlight.at) {
      const budget = 1 + Math.floor(rand() * 4);
      const timers = tasks.flatMap((t) => t.h.finishTimers(budget));
      completed = { step: inFlight.step, watermark: inFlight.watermark, table: inFlight.table,
                    timers, outs: inFlight.outs };
      inFlight = null;
    }
    const [what, a, b] = steps[i];
    if (what === "add") {
      const task = tasks.find((t) => t.mine(groupOf(a)));
      task.h.add(a, {}, b);
    } else {
      watermark = a;
      for (const t of tasks) t.h.watermark(a);
    }
    take();
  }
  for (const t of tasks) t.h.watermark(Infinity);
  take();
  for (const t of tasks) t.h.assertEmpty();
  void watermark;
  return null;
}

function check(seed) {
  const rand = prng(seed);
  const config = randomConfig(rand);
  const steps = randomSteps(rand, 250);
  const what = JSON.stringify(config) + " seed " + seed;
  // Uninterrupted.
  const [whole] = subtasks(config, 1, null);
  runFrom(() => 1, steps, 0, [whole], Infinity);
  const expected = whole.out;
  // Interrupted twice, at parallelism 1 -> p1 -> p2.
  const p1 = 1 + Math.floor(rand() * 3), p2 = 1 + Math.floor(rand() * 3);
  let tasks = subtasks(config, 1, null);
  let from = 0;
  const emitted = [];  // outputs up to the checkpoint each restore went back to
  for (const parts of [p1, p2, 0]) {
    const failAt = parts === 0 ? Infinity : from + 60 + Math.floor(rand() * 60);
    const cp = runFrom(rand, steps, from, tasks, failAt);
    if (parts === 0 || cp === null) {
      for (const t of tasks) emitted.push(t.out);
      break;
    }
    tasks.forEach((t, i) => emitted.push(t.out.slice(0, cp.outs[i])));
    tasks = subtasks(config, parts, cp);
    from = cp.step;
  }
  // Per key, what was emitted equals the uninterrupted run's (order included): outputs before a
  // checkpoint came from the run that took it, the rest from the restored ones.
  for (const key of KEYS) {
    const mineOf = (list) => list.filter(([k]) => k === key);
    const got = emitted.flatMap(mineOf);
    assert.deepEqual(got, mineOf(expected), what + ": key " + key);
  }
  assert.equal(emitted.reduce((n, o) => n + o.length, 0), expected.length, what);
  return tasks.length;
}

test("own timers written incrementally and restored at any parallelism fire as without a failure",
     () => {
  const [from, to] = process.env.SEED ? [Number(process.env.SEED), Number(process.env.SEED)] : [1, 300];
  for (let seed = from; seed <= to; seed++) check(seed);
});

test("a subtask restored from a chain fires its keys in the uninterrupted run's order", () => {
  // One subtask, from a checkpoint taken with writes after the barrier: the whole output is the
  // same sequence, not only per key.
  for (let seed = 501; seed <= 600; seed++) {
    const rand = prng(seed);
    const config = randomConfig(rand);
    const steps = randomSteps(rand, 200);
    const [whole] = subtasks(config, 1, null);
    runFrom(() => 1, steps, 0, [whole], Infinity);
    const tasks = subtasks(config, 1, null);
    const cp = runFrom(rand, steps, 0, tasks, 150);
    if (cp === null) continue;
    const [restored] = subtasks(config, 1, cp);
    runFrom(() => 1, steps, cp.step, [restored], Infinity);
    assert.deepEqual(tasks[0].out.slice(0, cp.outs[0]).concat(restored.out), whole.out,
                     JSON.stringify(config) + " seed " + seed);
  }
});

test("fired timers' entries are deleted: the timers' table ends empty", () => {
  for (const config of [
    { assigner: { type: "sliding", size: 6, slide: 2 }, function: "count" },
    { assigner: { type: "session", gap: 3 }, function: "count" }]) {
    const h = harness(config);
    for (let t = 0; t < 50; t++) {
      h.add(KEYS[t % KEYS.length], {}, t);
      if (t % 5 === 0) {
        h.beginTimers();
        h.watermark(t - 4);  // fires some frozen timers before they are written
        h.finishTimers(2);
      }
    }
    assert.ok(h.timerTable.size > 0);
    h.watermark(Infinity);
    // What stays is at most a session mark per key group (timers.js, "Own timers").
    assert.deepEqual(h.snapshotTimers().filter(([, key]) => key !== '["session"]'), [],
                     JSON.stringify(config));
    h.assertEmpty();
  }
});

test("own timers restored into an operator that keeps none become ctx.timers' timers, in order",
     () => {
  const config = { assigner: { type: "sliding", size: 4, slide: 2 }, function: "count" };
  const h = harness(config);
  for (const [key, ts] of [["b", 1], ["a", 1], ["c", 3], ["a", 4]]) h.add(key, {}, ts);
  const entries = h.snapshotTimers();
  const timers = new TimerService();
  timers.restoreEntries(copy(entries));
  assert.throws(() => timers.advanceWatermark(0, () => {}),
                /the checkpoint holds timers a window operator keeps \(entry \["end",1,0\] of key group 50\)/);
  timers.adopt(null, "end", runtime.window_config.ownTimers);
  const fired = [];
  timers.advanceWatermark(Infinity, (t) => fired.push(t.keyString + t.time + "@" + t.namespace));
  assert.deepEqual(fired, ["b1@-2:2", "a1@-2:2", "b3@0:4", "a3@0:4", "c3@0:4", "c5@2:6",
                           "a5@2:6", "a7@4:8"]);
  // The next checkpoint deletes the own entries.
  const out = [];
  timers.freezeChanges(out);
  while (!timers.takeFrozen(10)) {}
  assert.deepEqual(out.filter((x, i) => i % 3 === 2), entries.map(() => null));
});
