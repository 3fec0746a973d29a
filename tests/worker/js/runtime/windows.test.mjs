// Tests of worker/js/runtime/windows.js: the window operator against a real TimerService and an
// in-memory state table that stores copies (so an operator that changes a value without putting
// it back is caught; window_harness.mjs). Session timers have their own suite
// (windows_sessions.test.mjs). Run: node --test tests/worker/js/runtime/
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { TimerService, copy, harness, windows } from "./window_harness.mjs";

const sumInPlace = (a, b) => {
  a.v += b.v;
  return a;
};

test("tumbling: out-of-order records fire per window, by window end then key order", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "reduce" },
                    { reduce: sumInPlace });
  h.add("a", { v: 1 }, 3);
  h.add("b", { v: 2 }, 12);
  h.add("a", { v: 4 }, 1);
  h.add("a", { v: 8 }, 15);
  h.add("b", { v: 16 }, 7);
  h.add("a", { v: 32 }, 9);
  assert.equal(h.table.size, 2, "one state entry per key");
  assert.equal(h.entry("a").length, 8, "a's entry holds its two windows");
  h.watermark(8);
  assert.deepEqual(h.take(), []);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a", [0, 10], { v: 37 }, 9], ["b", [0, 10], { v: 16 }, 9]]);
  h.add("b", { v: 64 }, 11);
  h.watermark(19);
  assert.deepEqual(h.take(), [["b", [10, 20], { v: 66 }, 19], ["a", [10, 20], { v: 8 }, 19]]);
  h.assertEmpty();
});

test("tumbling with an offset and negative timestamps; end of input fires by window end", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10, offset: 3 }, function: "count" });
  h.add("x", {}, 2);
  h.add("x", {}, 3);
  h.add("x", {}, -8);
  h.add("x", {}, 12);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [
    ["x", [-17, -7], 1, -8], ["x", [-7, 3], 1, 2], ["x", [3, 13], 2, 12]]);
  h.assertEmpty();
});

test("user functions get the job's params as their last argument", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "aggregate" },
                    { create: (p) => p.base, add: (acc, r, p) => acc + r * p.factor },
                    { params: { base: 100, factor: 2 } });
  h.add("k", 1, 1);
  h.add("k", 2, 2);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["k", [0, 10], 106, 9]]);
});

test("sliding: each record goes into size/slide windows; aggregate with result", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 5 }, function: "aggregate" }, {
    create: () => ({ sum: 0, n: 0 }),
    add: (acc, r) => {
      acc.sum += r;
      acc.n++;
      return acc;
    },
    result: (acc) => acc.sum / acc.n,
  });
  h.add("a", 10, 12);
  h.add("a", 20, 3);
  h.add("b", 30, 8);
  h.add("a", 60, 7);
  h.watermark(4);
  assert.deepEqual(h.take(), [["a", [-5, 5], 20, 4]]);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a", [0, 10], 40, 9], ["b", [0, 10], 30, 9]]);
  h.watermark(14);
  assert.deepEqual(h.take(), [["a", [5, 15], 35, 14], ["b", [5, 15], 30, 14]]);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [10, 20], 10, 19]]);
  h.assertEmpty();
});

test("sliding with a size that is not a multiple of the slide", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 4 }, function: "count" });
  h.add("a", {}, 9);
  h.add("a", {}, 1);
  h.add("a", {}, 3);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [
    ["a", [-8, 2], 1, 1], ["a", [-4, 6], 2, 5], ["a", [0, 10], 3, 9],
    ["a", [4, 14], 1, 13], ["a", [8, 18], 1, 17]]);
  h.assertEmpty();
});

// Session gap 10. a: [0,10) [12,22) [25,35), then 8 merges three windows into [0,22), 30 merges
// two into [25,40); 45 opens [45,55) and 40 joins it with the touching [25,40).
function sessionScenario(fn, fns) {
  const h = harness({ assigner: { type: "session", gap: 10 }, function: fn }, fns);
  h.add("a", "A", 0);
  h.add("a", "B", 25);
  h.add("a", "C", 12);
  h.add("b", "P", 3);
  h.watermark(5);
  assert.deepEqual(h.take(), []);
  assert.equal(h.timerCount(), 4);
  h.add("a", "D", 8);
  h.add("a", "E", 30);
  h.add("b", "Q", 9);
  h.add("b", "R", 40);
  // Windows that grew or merged keep their timers (a: 9, 21, 34; b: 12), moved when they fire;
  // the new window [40,50) has its own (b: 49).
  assert.equal(h.timerCount(), 5);
  // The key's windows, in any order.
  const bounds = h.entry("a").filter((_, i) => i % 4 < 2);
  const pairs = [];
  for (let i = 0; i < bounds.length; i += 2) pairs.push([bounds[i], bounds[i + 1]]);
  assert.deepEqual(pairs.sort((x, y) => x[0] - y[0]), [[0, 22], [25, 40]]);
  h.watermark(21);
  const first = h.take();
  h.add("a", "F", 45);
  h.add("a", "G", 40);
  h.watermark(Infinity);
  const rest = h.take();
  h.assertEmpty();
  return first.concat(rest);
}

test("session windows merge (2 and 3 windows) with reduce", () => {
  assert.deepEqual(sessionScenario("reduce", { reduce: (a, b) => a + b }), [
    ["b", [3, 19], "PQ", 18], ["a", [0, 22], "ACD", 21],
    ["b", [40, 50], "R", 49], ["a", [25, 55], "BEFG", 54]]);
});

test("session windows merge with aggregate", () => {
  const fns = {
    create: () => [],
    add: (acc, r) => {
      acc.push(r);
      return acc;
    },
    merge: (a, b) => a.concat(b),
    result: (acc) => acc.join(""),
  };
  assert.deepEqual(sessionScenario("aggregate", fns), [
    ["b", [3, 19], "PQ", 18], ["a", [0, 22], "ACD", 21],
    ["b", [40, 50], "R", 49], ["a", [25, 55], "BEFG", 54]]);
});

test("session windows merge with count", () => {
  assert.deepEqual(sessionScenario("count", {}), [
    ["b", [3, 19], 2, 18], ["a", [0, 22], 3, 21], ["b", [40, 50], 1, 49], ["a", [25, 55], 4, 54]]);
});

test("late records are dropped and counted", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "count" });
  h.add("a", {}, 5);
  h.watermark(10);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9]]);
  h.add("a", { late: true }, 3);
  h.add("a", {}, 12);
  assert.equal(h.ctx.stats.lateDropped, 1);
  assert.equal(h.ctx.stats.lateSideOutput, 0);
  assert.deepEqual(h.late, []);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [10, 20], 1, 19]]);
  h.assertEmpty();
});

test("late records go to the side output when lateOutput is set", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "count",
                      lateOutput: true });
  h.add("a", {}, 5);
  h.watermark(9);
  h.add("a", { late: true }, 3);
  assert.deepEqual(h.late, [[{ late: true }, 3]]);
  assert.equal(h.ctx.stats.lateSideOutput, 1);
  assert.equal(h.ctx.stats.lateDropped, 0);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9]]);
  h.assertEmpty();
});

test("a sliding record is late only when all its windows are", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 5 }, function: "count" });
  h.watermark(12);
  h.add("a", {}, 8);  // [0,10) is late, [5,15) is not
  h.add("a", {}, 4);  // [-5,5) and [0,10): both late
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [5, 15], 1, 14]]);
  h.assertEmpty();
});

test("a late session window is dropped unless it merges into an open one", () => {
  const h = harness({ assigner: { type: "session", gap: 10 }, function: "count" });
  h.add("a", {}, 15);
  h.watermark(20);
  h.add("a", {}, 5);  // [5,15) is late alone but touches [15,25)
  h.add("a", {}, 2);
  h.add("b", {}, 5);  // late
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [2, 25], 3, 24]]);
  h.assertEmpty();
});

test("allowed lateness: late firings until cleanup, then records are late", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "count",
                      allowedLateness: 5 });
  h.add("a", {}, 2);
  h.add("a", {}, 4);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a", [0, 10], 2, 9]]);
  assert.equal(h.table.size, 1, "the window is kept for late records");
  assert.equal(h.timerCount(), 1, "its cleanup timer");
  h.add("a", {}, 7);
  assert.deepEqual(h.take(), [["a", [0, 10], 3, 9]]);
  h.watermark(12);
  assert.deepEqual(h.take(), []);
  h.add("a", {}, 1);
  h.add("b", {}, 8);  // a new window within the allowed lateness fires at once
  assert.deepEqual(h.take(), [["a", [0, 10], 4, 9], ["b", [0, 10], 1, 9]]);
  h.watermark(14);
  assert.deepEqual(h.take(), []);
  h.assertEmpty();
  h.add("a", {}, 6);
  assert.equal(h.ctx.stats.lateDropped, 1);
  assert.deepEqual(h.take(), []);
  h.assertEmpty();
});

test("allowed lateness with session merges after the window fired", () => {
  const h = harness({ assigner: { type: "session", gap: 10 }, function: "count",
                      allowedLateness: 10 });
  h.add("a", {}, 0);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9]]);
  h.add("a", {}, 12);  // [12,22), apart from [0,10)
  h.add("a", {}, 5);   // joins both: [0,22) is due at 21, after the watermark
  assert.deepEqual(h.take(), []);
  // [0,10)'s cleanup timer, now [0,22)'s (moved when it fires), and [0,22)'s trigger timer.
  assert.equal(h.timerCount(), 2);
  h.watermark(25);
  assert.deepEqual(h.take(), [["a", [0, 22], 3, 21]]);
  h.add("a", {}, 1);
  assert.deepEqual(h.take(), [["a", [0, 22], 4, 21]]);
  h.watermark(31);
  h.assertEmpty();
  h.watermark(Infinity);
  assert.deepEqual(h.take(), []);
});

test("end of input cleans up windows that already fired without firing them again", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "count",
                      allowedLateness: 100 });
  h.add("a", {}, 1);
  h.add("a", {}, 15);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9]]);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [10, 20], 1, 19]]);
  h.assertEmpty();
});

test("emitted values are copies while their window stays open", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "reduce",
                      allowedLateness: 10 }, { reduce: sumInPlace }, { live: true });
  h.add("a", { v: 1 }, 1);
  h.watermark(9);
  const [[, , value]] = h.take();
  assert.deepEqual(value, { v: 1 });
  value.v = 1000;  // downstream changes what it got
  h.add("a", { v: 2 }, 2);
  assert.deepEqual(h.take(), [["a", [0, 10], { v: 3 }, 9]]);
});

test("a sliding record starts each of its windows with its own accumulator", () => {
  const h = harness({ assigner: { type: "sliding", size: 10, slide: 5 }, function: "reduce" },
                    { reduce: sumInPlace }, { live: true });
  h.add("a", { v: 1 }, 7);
  h.add("a", { v: 2 }, 8);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [0, 10], { v: 3 }, 9], ["a", [5, 15], { v: 3 }, 14]]);
  h.assertEmpty();
});

test("count trigger fires every n elements without purging; cleanup drops the rest", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "count",
                      trigger: { type: "count", count: 2 } });
  h.add("a", {}, 1);
  assert.deepEqual(h.take(), []);
  h.add("a", {}, 2);
  assert.deepEqual(h.take(), [["a", [0, 10], 2, 9]]);
  h.add("a", {}, 3);
  h.add("a", {}, 4);
  assert.deepEqual(h.take(), [["a", [0, 10], 4, 9]]);
  h.add("b", {}, 5);
  h.add("a", {}, 5);
  h.watermark(9);
  assert.deepEqual(h.take(), [], "the event time does not fire a count-triggered window");
  h.assertEmpty();
  h.add("c", {}, 15);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["c", [10, 20], 1, 19]], "end of input fires what is pending");
  h.assertEmpty();
});

test("count trigger on merging sessions adds the counts of merged windows", () => {
  const h = harness({ assigner: { type: "session", gap: 10 }, function: "reduce",
                      trigger: { type: "count", count: 3 } }, { reduce: (a, b) => a + b });
  h.add("a", "x", 0);
  h.add("a", "y", 20);
  assert.deepEqual(h.take(), []);
  h.add("a", "z", 10);  // touches both
  assert.deepEqual(h.take(), [["a", [0, 30], "xyz", 29]]);
  h.add("a", "w", 15);  // inside [0,30)
  assert.deepEqual(h.take(), []);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [0, 30], "xyzw", 29]]);
  h.assertEmpty();
});

test("processing-time tumbling windows use ctx.now() and fire on processing time", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, time: "processing",
                      function: "count" });
  h.setNow(3);
  h.add("a", {}, undefined);
  h.setNow(5);
  h.add("b", {}, 1000);  // the record's event time plays no part
  h.watermark(500);
  h.setNow(12);
  h.add("a", {}, undefined);
  assert.deepEqual(h.take(), []);
  h.advance(8);
  assert.deepEqual(h.take(), []);
  h.advance(9);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9], ["b", [0, 10], 1, 9]]);
  h.advance(25);
  assert.deepEqual(h.take(), [["a", [10, 20], 1, 19]]);
  h.assertEmpty();
  h.setNow(31);
  h.add("a", {}, undefined);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [30, 40], 1, 39]], "end of input fires processing windows");
  h.assertEmpty();
  assert.equal(h.ctx.stats.lateDropped, 0);
});

test("processing-time windows with a count trigger", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, time: "processing",
                      function: "count", trigger: { type: "count", count: 2 } });
  h.setNow(1);
  h.add("a", {}, undefined);
  h.add("a", {}, undefined);
  assert.deepEqual(h.take(), [["a", [0, 10], 2, 9]]);
  h.add("a", {}, undefined);
  h.advance(9);
  assert.deepEqual(h.take(), [], "cleanup drops an incomplete count");
  h.assertEmpty();
});

test("processing-time session windows merge", () => {
  const h = harness({ assigner: { type: "session", gap: 10 }, time: "processing",
                      function: "reduce" }, { reduce: (a, b) => a + b });
  h.setNow(0);
  h.add("a", "A", undefined);
  h.setNow(5);
  h.add("a", "B", undefined);
  h.advance(13);
  assert.deepEqual(h.take(), []);
  h.advance(14);
  assert.deepEqual(h.take(), [["a", [0, 15], "AB", 14]]);
  h.assertEmpty();
});

test("a record without event time is an error naming the operator", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 }, function: "count" });
  assert.throws(() => h.add("a", {}, undefined), {
    message: 'window operator "win" (id 7): a record has no event time: use assignTimestamps ' +
             "before the window",
  });
  assert.throws(() => h.add("a", {}, NaN),
                /^Error: window operator "win" \(id 7\): a record's event time must be a finite/);
});

test("session aggregate without merge is refused at make()", () => {
  assert.throws(
      () => harness({ assigner: { type: "session", gap: 10 }, function: "aggregate" },
                    { create: () => 0, add: (a) => a + 1 }),
      new RegExp('^Error: window operator "win" \\(id 7\\): config.function "aggregate" needs a ' +
                 "merge function \\(session windows merge their accumulators\\)"));
  // A non-merging window does not need it.
  harness({ assigner: { type: "tumbling", size: 10 }, function: "aggregate" },
          { create: () => 0, add: (a) => a + 1 });
});

test("bad config is refused with the operator and the field", () => {
  const tumbling = { type: "tumbling", size: 10 };
  const cases = [
    [{ function: "count" }, /config.assigner is missing/],
    [{ assigner: "10s", function: "count" }, /config.assigner must be an object/],
    [{ assigner: { type: "hopping" }, function: "count" }, /config.assigner.type must be/],
    [{ assigner: { type: "tumbling", size: 0 }, function: "count" },
     /config.assigner.size must be a positive whole number of milliseconds, not 0/],
    [{ assigner: { type: "tumbling", size: "10s" }, function: "count" }, /config.assigner.size/],
    [{ assigner: { type: "tumbling", size: 10, offset: 10 }, function: "count" },
     /config.assigner.offset must be/],
    [{ assigner: { type: "tumbling", size: 10, gap: 5 }, function: "count" },
     /unknown field "gap" in config.assigner/],
    [{ assigner: { type: "sliding", size: 10 }, function: "count" }, /config.assigner.slide/],
    [{ assigner: { type: "session", gap: -1 }, function: "count" }, /config.assigner.gap/],
    [{ assigner: tumbling, time: "ingestion", function: "count" }, /config.time must be/],
    [{ assigner: tumbling, trigger: { type: "count" }, function: "count" },
     /config.trigger.count must be a positive whole number/],
    [{ assigner: tumbling, trigger: { type: "watermark" }, function: "count" },
     /config.trigger.type must be/],
    [{ assigner: tumbling, time: "processing", trigger: { type: "event_time" }, function: "count" },
     /the event_time trigger needs event-time windows/],
    [{ assigner: tumbling, trigger: { type: "processing_time" }, function: "count" },
     /the processing_time trigger needs processing-time windows/],
    [{ assigner: tumbling, allowedLateness: -1, function: "count" },
     /config.allowedLateness must be a non-negative whole number/],
    [{ assigner: tumbling, time: "processing", allowedLateness: 5, function: "count" },
     /config.allowedLateness needs event-time windows/],
    [{ assigner: tumbling, lateOutput: "yes", function: "count" }, /config.lateOutput must be/],
    [{ assigner: tumbling },
     /config.function must be "reduce", "aggregate" or "count", not missing/],
    [{ assigner: tumbling, function: "sum" }, /config.function must be .* not "sum"/],
    [{ assigner: tumbling, function: "reduce" },
     /config.function "reduce" needs a reduce function/],
    [{ assigner: tumbling, function: "aggregate" }, /config.function "aggregate" needs a create/],
    [{ assigner: tumbling, function: "count", allowedLatenes: 5 },
     /unknown field "allowedLatenes" in config/],
  ];
  for (const [config, message] of cases) {
    assert.throws(() => harness(config), (error) => {
      assert.match(error.message, /^window operator "win" \(id 7\): /);
      assert.match(error.message, message);
      return true;
    }, JSON.stringify(config));
  }
  assert.throws(
      () => windows.make({ id: 3, name: "r", kind: "reduce", config: {}, fns: {} }, {}),
      /window operator "r" \(id 3\): windows.js makes "window" operators, not "reduce"/);
});

test("the operator's whole state is in ctx.state and ctx.timers: a restored one goes on", () => {
  const config = { assigner: { type: "sliding", size: 10, slide: 5 }, function: "reduce",
                   allowedLateness: 5 };
  const fns = { reduce: (a, b) => a + b };
  const feed = (h, part) => {
    if (part === 0) {
      h.add("a", "A", 3);
      h.add("b", "B", 6);
      h.watermark(4);
      h.add("a", "C", 8);
    } else {
      h.add("b", "D", 1);  // a late firing of [0,10) for b
      h.watermark(12);
      h.add("a", "E", 11);
      h.watermark(Infinity);
    }
  };
  const whole = harness(config, fns);
  feed(whole, 0);
  whole.watermark(9);
  feed(whole, 1);
  const expected = [
    ["a", [-5, 5], "A", 4], ["a", [0, 10], "AC", 9], ["b", [0, 10], "B", 9],
    ["b", [0, 10], "BD", 9], ["b", [5, 15], "B", 14], ["a", [5, 15], "CE", 14],
    ["a", [10, 20], "E", 19]];
  assert.deepEqual(whole.take(), expected);

  const before = harness(config, fns);
  feed(before, 0);
  before.watermark(9);
  const timerEntries = before.snapshotTimers();
  const table = new Map(copy([...before.table]));
  const after = harness(config, fns, { table, timerEntries });
  after.setWatermark(9);
  feed(after, 1);
  assert.deepEqual(before.take().concat(after.take()), expected);
  after.assertEmpty();
});

test("windows.js needs its parts (ctx.runtime) and names the one that is missing", async () => {
  const { load } = await import("./helpers.mjs");
  const fresh = load("windows.js");  // not yet installed
  const spec = { id: 3, name: "w", kind: "window", config: { assigner: { type: "tumbling", size: 10 }, function: "count" }, fns: {} };
  assert.throws(() => fresh.make(spec, { runtime: { window_config: load("window_config.js") } }),
                /windows.js needs the runtime library window_slices \(ctx.runtime.window_slices\)/);
});

// A key's first window list is made at its size ([start, end, acc, pending]): push() on an empty
// array leaves room for ~20 elements, kept as long as the key's windows live (q12 keeps a list
// per bidder for the whole window). Tumbling and session windows (a sliding window's record
// goes into several windows at once). Checked in a child process with V8's natives syntax, which
// prints the capacity of the list's elements.
test("a key's first window list is made at its size", () => {
  const harnessUrl = new URL("./window_harness.mjs", import.meta.url).href;
  const configs = {
    tumblingEvent: { assigner: { type: "tumbling", size: 10 }, function: "count" },
    tumblingProcessing: { assigner: { type: "tumbling", size: 10 }, time: "processing",
                          function: "count" },
    tumblingCount: { assigner: { type: "tumbling", size: 10 }, trigger: { type: "count", count: 5 },
                     function: "count" },
    session: { assigner: { type: "session", gap: 10 }, function: "count" },
  };
  const out = execFileSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e",
    `import { harness } from ${JSON.stringify(harnessUrl)};
     for (const [name, config] of Object.entries(${JSON.stringify(configs)})) {
       const h = harness(config, {}, { live: true });
       h.setNow(3);
       h.add("a", {}, 3);
       %DebugPrint("list:" + name);
       %DebugPrint(h.entry("a"));
     }`], { encoding: "utf8" });
  const capacities = {};
  let name = null;
  for (const line of out.split("\n")) {
    const list = /list:(\w+)/.exec(line);
    if (list !== null) name = list[1];
    const elements = /- elements: \S+ <Fixed\w*Array\[(\d+)\]>/.exec(line);
    if (elements !== null && name !== null) {
      capacities[name] = Number(elements[1]);
      name = null;
    }
  }
  const expected = Object.fromEntries(Object.keys(configs).map((n) => [n, 4]));
  assert.deepEqual(capacities, expected);
});
