// Window slicing (worker/js/runtime/window_slices.js) against the operator as it was before
// (windows_oracle.js, a copy): on random inputs — keys, records out of order, watermarks, allowed
// lateness, late records, offsets, sizes that are or are not multiples of the slide, count,
// reduce and aggregate — both emit the same records in the same order after every step, the
// same late records and counters, and end with nothing left. A run may stop half-way and go on
// from a checkpoint (the state table and the timers' snapshot), taken by the sliced operator or
// by the old one (the format of checkpoints taken before slices).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";
import { FUNCTIONS, TimerService, copy, harness, keys, prng, MAX_PARALLELISM } from "./window_harness.mjs";

const oraclePath = path.join(path.dirname(fileURLToPath(import.meta.url)), "windows_oracle.js");
const oracle = vm.runInThisContext(fs.readFileSync(oraclePath, "utf8"), { filename: oraclePath });

function randomConfig(rand) {
  const slide = [1, 2, 3, 4, 5, 10][Math.floor(rand() * 6)];
  const size = slide * (1 + Math.floor(rand() * 4)) + (rand() < 0.3 ? Math.floor(rand() * slide) : 0);
  const config = { assigner: { type: "sliding", size, slide } };
  if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * slide - 1)) - (slide - 1);
  if (rand() < 0.4) config.allowedLateness = [1, 5, 17][Math.floor(rand() * 3)];
  if (rand() < 0.3) config.lateOutput = true;
  return config;
}

// Both operators, fed the same steps; `checkpointAt`: the step after which the run goes on from
// a checkpoint of the sliced operator ("new") or of the old one restored into a sliced one ("old").
// Tumbling windows (the window list, with window end timers when the allowed lateness allows).
function randomTumbling(rand) {
  const size = [1, 2, 3, 5, 10][Math.floor(rand() * 5)];
  const config = { assigner: { type: "tumbling", size } };
  if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * size - 1)) - (size - 1);
  if (rand() < 0.5) config.allowedLateness = [1, 2, 5, 10, 17][Math.floor(rand() * 5)];
  if (rand() < 0.3) config.lateOutput = true;
  return config;
}

// Tumbling windows with the count trigger now and then (which windows.js's fast path for
// tumbling windows leaves to the general one).
function randomTumblingTriggers(rand) {
  const config = randomTumbling(rand);
  if (rand() < 0.3) config.trigger = { type: "count", count: 1 + Math.floor(rand() * 3) };
  return config;
}

// Session windows (event time; the event-time trigger or a count trigger).
function randomSession(rand) {
  const config = { assigner: { type: "session", gap: 1 + Math.floor(rand() * 10) } };
  if (rand() < 0.4) config.allowedLateness = [1, 5, 17][Math.floor(rand() * 3)];
  if (rand() < 0.3) config.lateOutput = true;
  if (rand() < 0.25) config.trigger = { type: "count", count: 1 + Math.floor(rand() * 3) };
  return config;
}

function run(seed, { steps = 300, checkpointAt = -1, from = "new", live = false,
                     configOf = randomConfig, driver = false } = {}) {
  const rand = prng(seed);
  const config = configOf(rand);
  const [fn, fns, makeRecord] = FUNCTIONS[Math.floor(rand() * FUNCTIONS.length)];
  config.function = fn;
  const what = JSON.stringify(config) + " seed " + seed;
  const keys = ["a", "b", "c", "d", 7].slice(0, 1 + Math.floor(rand() * 5));
  let ours = harness(config, fns, { live, driver });
  const theirs = harness(config, fns, { live, lib: oracle });
  let watermark = -Infinity, time = Math.floor(rand() * 40) - 20, n = 0;
  const compare = (step) => {
    const a = ours.take(), b = theirs.take();
    assert.deepEqual(a, b, what + ": outputs at step " + step);
    assert.deepEqual(ours.late.splice(0), theirs.late.splice(0), what + ": late records");
    assert.deepEqual(ours.ctx.stats, theirs.ctx.stats, what + ": counters");
  };
  for (let step = 0; step < steps; step++) {
    const r = rand();
    if (r < 0.75) {
      // Mostly forward, sometimes well behind the watermark.
      time += Math.floor(rand() * 4);
      const ts = rand() < 0.2 ? time - Math.floor(rand() * 30) : time;
      const key = keys[Math.floor(rand() * keys.length)];
      const record = makeRecord(n++);
      ours.add(key, copy(record), ts);
      theirs.add(key, copy(record), ts);
    } else if (r < 0.95) {
      const w = time - Math.floor(rand() * 12);
      if (w > watermark) {
        watermark = w;
        ours.watermark(w);
        theirs.watermark(w);
      }
    }
    compare(step);
    if (step === checkpointAt) {
      const source = from === "new" ? ours : theirs;
      const timerEntries = source.snapshotTimers(1 + Math.floor(rand() * 4));
      const restored = harness(config, fns, { live, driver,
                                              table: new Map(copy([...source.table])),
                                              timerEntries });
      restored.fastAdds = ours.fastAdds;
      restored.setWatermark(watermark);
      Object.assign(restored.ctx.stats, ours.ctx.stats);
      ours = restored;
    }
  }
  ours.watermark(Infinity);
  theirs.watermark(Infinity);
  compare("end");
  ours.assertEmpty();
  theirs.assertEmpty();
  return ours.fastAdds;
}

test("sliced sliding windows emit what the window list emits (random inputs)", () => {
  for (let seed = 1; seed <= 400; seed++) run(seed);
});

test("... with live state objects (as the state cache keeps them)", () => {
  for (let seed = 1001; seed <= 1200; seed++) run(seed, { live: true });
});

test("... going on from a checkpoint of the sliced operator", () => {
  for (let seed = 2001; seed <= 2200; seed++) run(seed, { checkpointAt: 150, from: "new" });
});

test("... going on from a checkpoint taken before slices (window lists)", () => {
  for (let seed = 3001; seed <= 3200; seed++) run(seed, { checkpointAt: 150, from: "old" });
});

test("tumbling windows emit what the old operator emits, also from a checkpoint (random inputs)",
     () => {
  for (let seed = 4001; seed <= 4200; seed++) run(seed, { configOf: randomTumbling });
  for (let seed = 4201; seed <= 4300; seed++) {
    run(seed, { configOf: randomTumbling, checkpointAt: 150, from: seed % 2 ? "new" : "old" });
  }
});

test("tumbling windows with live state objects and count triggers emit what the old operator " +
     "emits", () => {
  for (let seed = 4301; seed <= 4500; seed++) {
    run(seed, { configOf: randomTumblingTriggers, live: seed % 2 === 0 });
  }
  for (let seed = 4501; seed <= 4600; seed++) {
    run(seed, { configOf: randomTumblingTriggers, live: true, checkpointAt: 150,
                from: seed % 2 ? "new" : "old" });
  }
});

// The chain's driver tries the operator's fast path itself (addFast, with the bucket's bounds and
// the watermark compared in the driver) before processElement; the records it takes must be
// exactly those processElement would have added to their key's open window: no late firing, no
// count trigger, no new window missed.
test("tumbling windows fed as the chain's driver feeds them (addFast first) emit what the old " +
     "operator emits", () => {
  let fast = 0;
  for (let seed = 4601; seed <= 4900; seed++) {
    fast += run(seed, { configOf: randomTumblingTriggers, live: seed % 2 === 0, driver: true });
  }
  for (let seed = 4901; seed <= 5000; seed++) {
    fast += run(seed, { configOf: randomTumblingTriggers, live: true, driver: true,
                        checkpointAt: 150, from: seed % 2 ? "new" : "old" });
  }
  assert.ok(fast > 1000, "the fast path took " + fast + " records");
});

test("session windows emit what the old operator emits, also from a checkpoint (random inputs)",
     () => {
  for (let seed = 5001; seed <= 5200; seed++) run(seed, { configOf: randomSession });
  for (let seed = 5201; seed <= 5300; seed++) run(seed, { configOf: randomSession, live: true });
  for (let seed = 5301; seed <= 5400; seed++) {
    run(seed, { configOf: randomSession, checkpointAt: 150, from: seed % 2 ? "new" : "old" });
  }
});

// Processing-time windows (tumbling with the processing-time trigger take windows.js's fast path
// for them; sliding ones, and tumbling ones with a count trigger, take the general one), against
// the old operator: records, the clock moving without firing (as it does within a batch, where
// the driver's clock is read once), the clock firing, and a checkpoint half-way, of the operator
// ("new": its own processing-time timers) or of the old one ("old": ctx.timers' timers).
function runProcessing(seed, { steps = 300, checkpointAt = -1, live = false, from = "new" } = {}) {
  const rand = prng(seed);
  const size = [1, 2, 3, 5, 10][Math.floor(rand() * 5)];
  const config = rand() < 0.8 ? { assigner: { type: "tumbling", size } }
    : { assigner: { type: "sliding", size: 2 * size, slide: size } };
  if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * size - 1)) - (size - 1);
  config.time = "processing";
  if (rand() < 0.25) config.trigger = { type: "count", count: 1 + Math.floor(rand() * 3) };
  const [fn, fns, makeRecord] = FUNCTIONS[Math.floor(rand() * FUNCTIONS.length)];
  config.function = fn;
  const what = JSON.stringify(config) + " seed " + seed;
  const keys = ["a", "b", "c", "d", 7].slice(0, 1 + Math.floor(rand() * 5));
  let ours = harness(config, fns, { live });
  const theirs = harness(config, fns, { live, lib: oracle });
  let now = Math.floor(rand() * 40) - 20, n = 0;
  ours.setNow(now);
  theirs.setNow(now);
  for (let step = 0; step < steps; step++) {
    const r = rand();
    if (r < 0.7) {
      const key = keys[Math.floor(rand() * keys.length)];
      const record = makeRecord(n++);
      ours.add(key, copy(record), undefined);
      theirs.add(key, copy(record), undefined);
    } else if (r < 0.85) {
      now += Math.floor(rand() * 4);
      ours.setNow(now);
      theirs.setNow(now);
    } else {
      now += Math.floor(rand() * 3);
      ours.advance(now);
      theirs.advance(now);
    }
    assert.deepEqual(ours.take(), theirs.take(), what + ": outputs at step " + step);
    if (step === checkpointAt) {
      const source = from === "new" ? ours : theirs;
      const timerEntries = source.snapshotTimers(1 + Math.floor(rand() * 4));
      ours = harness(config, fns, { live, table: new Map(copy([...source.table])), timerEntries });
      ours.setNow(now);
    }
  }
  ours.watermark(Infinity);
  theirs.watermark(Infinity);
  assert.deepEqual(ours.take(), theirs.take(), what + ": outputs at the end");
  ours.assertEmpty();
  theirs.assertEmpty();
}

test("processing-time windows emit what the old operator emits, also from a checkpoint " +
     "(random inputs)", () => {
  for (let seed = 6001; seed <= 6200; seed++) runProcessing(seed, { live: seed % 2 === 0 });
  for (let seed = 6201; seed <= 6300; seed++) {
    runProcessing(seed, { live: seed % 2 === 0, checkpointAt: 150 });
  }
  for (let seed = 6301; seed <= 6400; seed++) {
    runProcessing(seed, { live: seed % 2 === 0, checkpointAt: 150, from: "old" });
  }
});

test("window end timers: a checkpoint writes them, a restore fires them in order", () => {
  const config = { assigner: { type: "sliding", size: 4, slide: 2 }, function: "count" };
  const h = harness(config);
  for (const [key, ts] of [["b", 1], ["a", 1], ["c", 3], ["a", 4]]) h.add(key, {}, ts);
  assert.equal(h.ctx.timers.size, 0, "the operator keeps them");
  assert.equal(h.timerCount(), 8);
  const entries = h.snapshotTimers();
  const table = new Map(copy([...h.table]));
  assert.equal(h.ctx.timers.size, 0, "still the operator's");
  assert.equal(h.timerCount(), 8);
  // One entry per time and key group, in the format of timers.js's "Own timers".
  for (const [, key] of entries) assert.match(key, /^\["end",\d+,\d+\]$/);
  assert.equal(entries.reduce((n, [, , v]) => n + JSON.parse(v)[2].length, 0), 8);
  // d's windows [0, 4) and [2, 6) are new: their timers fire after the others of their time.
  const order = ["b2", "a2", "b4", "a4", "c4", "d4", "c6", "a6", "d6", "a8"];
  const rest = (x) => {
    x.add("d", {}, 3);
    x.watermark(Infinity);
    assert.deepEqual(x.take().map(([key, w]) => key + w[1]), order);
    x.assertEmpty();
  };
  rest(h);
  // Restored from the checkpoint, the same.
  const restored = harness(config, {}, { table: new Map(copy([...table])), timerEntries: entries });
  assert.equal(restored.timerCount(), 8);
  assert.equal(restored.ctx.timers.size, 0, "restored into the operator's own");
  rest(restored);
  // Taken apart by key group (two subtasks, as after a rescale: key groups below 20 and the
  // others), each fires its keys in the same order.
  const groupOf = (key) => keys.keyGroupOf(key, MAX_PARALLELISM);
  const parts = [0, 1].map((half) => {
    const mine = (kg) => (kg < 20) === (half === 0);
    const part = harness(config, {}, {
      table: new Map([...table].filter(([id]) => mine(Number(id.split("\u0000")[0])))),
      timerEntries: entries.filter(([kg]) => mine(kg)) });
    part.watermark(Infinity);
    const fired = part.take().map(([key, w]) => key + w[1]);
    const expected = order.filter((f) => f[0] !== "d" && mine(groupOf(f[0])));
    assert.deepEqual(fired, expected);
    return fired.length;
  });
  assert.equal(parts[0] + parts[1], order.length - 2);
});

test("a sliding count keeps one accumulator per key and slice", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 4 }, function: "count" });
  for (const ts of [0, 1, 3, 5, 9]) h.add("a", {}, ts);
  // gcd(10, 4) = 2: slices [0,2) [2,4) [4,6) [8,10).
  assert.deepEqual(h.entry("a"), ["slices", 0, 2, 2, 1, 4, 1, 8, 1]);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [
    ["a", [-8, 2], 2, 1], ["a", [-4, 6], 4, 5], ["a", [0, 10], 5, 9], ["a", [4, 14], 2, 13],
    ["a", [8, 18], 1, 17]]);
  h.assertEmpty();
});

test("a record out of order for its key turns the key's slices back into windows", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 5 }, function: "reduce" },
                    { reduce: (a, b) => a + b });
  h.add("a", "x", 7);
  h.add("a", "y", 12);
  h.add("a", "z", 3);
  assert.deepEqual(h.entry("a"), [10, 20, "y", 0, 5, 15, "xy", 0, 0, 10, "xz", 0, -5, 5, "z", 0]);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [
    ["a", [-5, 5], "z", 4], ["a", [0, 10], "xz", 9], ["a", [5, 15], "xy", 14],
    ["a", [10, 20], "y", 19]]);
  h.assertEmpty();
});

test("a sliced value emitted while a slice of it stays is a copy", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 5 }, function: "reduce" },
                    { reduce: (a, b) => (b.v > a.v ? b : a) }, { live: true });
  h.add("a", { v: 3 }, 7);  // slice [5,10): windows [0,10) and [5,15)
  h.watermark(9);
  const [[, , value]] = h.take();
  value.v = -1;  // downstream changes what it got
  h.add("a", { v: 1 }, 11);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [5, 15], { v: 3 }, 14], ["a", [10, 20], { v: 1 }, 19]]);
  h.assertEmpty();
});

test("a window list's value emitted while another window of the key stays is a copy", () => {
  // Processing time keeps the window list; the reduce makes the record both windows' value.
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 5 }, time: "processing",
                      function: "reduce" }, { reduce: (a, b) => (b.v > a.v ? b : a) },
                    { live: true });
  h.setNow(1);
  h.add("a", { v: 1 }, undefined);  // windows [-5,5) and [0,10)
  h.setNow(3);
  h.add("a", { v: 3 }, undefined);  // the value of both
  h.advance(4);
  const [[, , value]] = h.take();
  assert.deepEqual(value, { v: 3 });
  value.v = -1;  // downstream changes what it got
  h.advance(9);
  assert.deepEqual(h.take(), [["a", [0, 10], { v: 3 }, 9]]);
  h.assertEmpty();
});
