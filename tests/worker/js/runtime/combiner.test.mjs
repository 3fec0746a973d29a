// The combiner (worker/js/runtime/combiner.js) in front of the window operator against the
// window operator alone, on random inputs: two upstream tasks, each sending batches of records
// (keys, records out of order, some far behind the watermark) through its own combiner and then
// its watermark; the window operator's watermark is the smaller of the two. The window operator
// alone gets a task's records when its combiner sends what it held. Tumbling and sliding
// windows, offsets, allowed lateness, late records dropped or sent aside, count, reduce and
// aggregate (some not commutative): both emit the same records in the same order after every
// step, the same late records and counters, and end with nothing left. Session windows with
// count fold runs of records: the same records after every step, each key's in the same order,
// keys whose sessions end at the same time in any order among themselves (combiner.js). A run
// may go on from a checkpoint taken between two batches (the task releases what its combiner
// holds before the barrier).
import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";
import { FUNCTIONS, copy, harness, keys, prng, runtime, MAX_PARALLELISM } from "./window_harness.mjs";

const { Combiner, PARTIAL, combinable } = load("combiner.js");

function randomConfig(rand) {
  if (rand() < 0.25) {
    const config = { assigner: { type: "session", gap: 1 + Math.floor(rand() * 10) } };
    if (rand() < 0.4) config.allowedLateness = [1, 5, 17][Math.floor(rand() * 3)];
    if (rand() < 0.3) config.lateOutput = true;
    return config;
  }
  if (rand() < 0.4) {
    const size = [1, 2, 3, 5, 10][Math.floor(rand() * 5)];
    const config = { assigner: { type: "tumbling", size } };
    if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * size - 1)) - (size - 1);
    if (rand() < 0.5) config.allowedLateness = [1, 2, 5, 10, 17][Math.floor(rand() * 5)];
    if (rand() < 0.3) config.lateOutput = true;
    return config;
  }
  const slide = [1, 2, 3, 4, 5, 10][Math.floor(rand() * 6)];
  const size = slide * (1 + Math.floor(rand() * 4)) + (rand() < 0.3 ? Math.floor(rand() * slide) : 0);
  const config = { assigner: { type: "sliding", size, slide } };
  if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * slide - 1)) - (slide - 1);
  if (rand() < 0.4) config.allowedLateness = [1, 5, 17][Math.floor(rand() * 3)];
  if (rand() < 0.3) config.lateOutput = true;
  return config;
}

// One upstream task: its combiner and the watermark it last sent.
// The window operator alone (`theirs`) gets the task's records when its combiner sends what it
// held (pending until then): partials wait in a combiner across batches, and the records of two
// upstream tasks may reach a window in any interleaving, each task's in order.
function upstream(config, fns, send, maxEntries, theirs) {
  const spec = { id: 7, name: "win", kind: "window", config, fns };
  const combiner = new Combiner(spec, {}, runtime.window_config, send, maxEntries);
  const u = { combiner, watermark: -Infinity, time: 0, pending: [] };
  u.deliver = () => {
    for (const [key, record, ts] of u.pending) theirs.add(key, record, ts);
    u.pending = [];
  };
  const flush = combiner.flush.bind(combiner);
  combiner.flush = () => {
    flush();
    u.deliver();
  };
  return u;
}

function run(seed, { steps = 300, checkpointAt = -1 } = {}) {
  const rand = prng(seed);
  const config = randomConfig(rand);
  // Sessions take partials of count and aggregate (a reduce's accumulator is the record).
  const choices = config.assigner.type === "session"
    ? FUNCTIONS.filter(([name]) => name !== "reduce") : FUNCTIONS;
  const [fn, fns, makeRecord] = choices[Math.floor(rand() * choices.length)];
  config.function = fn;
  const what = JSON.stringify(config) + " seed " + seed;
  // 7 and 4103 share the combiner's slot for integer keys (4103 % 4096 = 7).
  const keyList = ["a", "b", 7, "c", 4103, "d", { id: 1 }].slice(0, 1 + Math.floor(rand() * 7));
  let ours = harness(config, fns);
  const theirs = harness(config, fns);
  let partials = 0, folded = 0, heldOn = 0;
  // Session runs: results of one end time in any order across keys (see the top).
  const runs = config.assigner.type === "session" && fn === "count";
  // What a combiner sends crosses an exchange: the window operator gets a JSON copy.
  const send = (keyGroup, record, ts, key) => {
    const r = copy(record);
    if (r !== null && typeof r === "object" && r[PARTIAL] === 1) {
      partials++;
      assert.equal(keyGroup, keys.keyGroupOf(r.key, MAX_PARALLELISM), what + ": key group");
      assert.equal(r.end !== undefined, runs, what + ": a run's end");
      if (runs) folded += r.acc - 1;
      ours.op.processPartial(keyGroup, keys.keyString(r.key), r.key, r.acc, ts, r.end);
    } else {
      ours.add(copy(key), r, ts);
    }
  };
  const maxEntries = rand() < 0.3 ? 1 + Math.floor(rand() * 3) : 4096;
  const ups = [upstream(config, fns, send, maxEntries, theirs),
               upstream(config, fns, send, maxEntries, theirs)];
  const start = Math.floor(rand() * 40) - 20;
  for (const u of ups) u.time = start;
  let watermark = -Infinity, n = 0;
  const compare = (step) => {
    const order = runs ? byEndAndKey : (x) => x;
    assert.deepEqual(order(ours.take()), order(theirs.take()), what + ": outputs at step " + step);
    assert.deepEqual(ours.late.splice(0), theirs.late.splice(0), what + ": late records");
    assert.deepEqual(ours.ctx.stats, theirs.ctx.stats, what + ": counters");
  };
  for (let step = 0; step < steps; step++) {
    const u = ups[rand() < 0.5 ? 0 : 1];
    if (rand() < 0.7) {
      // A batch: through the combiner, then flushed (the driver's finish()).
      u.combiner.begin(u.watermark, false);
      const count = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < count; i++) {
        u.time += Math.floor(rand() * 3);
        const ts = rand() < 0.2 ? u.time - Math.floor(rand() * 30) : u.time;
        const key = keyList[Math.floor(rand() * keyList.length)];
        const record = makeRecord(n++);
        u.combiner.add(keys.keyGroupOf(key, MAX_PARALLELISM), keys.keyString(key), key,
                       copy(record), ts);
        u.pending.push([key, copy(record), ts]);
        if (u.combiner.held === 0) u.deliver();  // (sent at once: sessions with an aggregate)
      }
      u.combiner.end(u.watermark, false);  // the driver's end of a call: what must go now
      if (u.combiner.held > 0) heldOn++;
      assertNoRecordHeld(u.combiner, what);
    } else {
      const w = u.time - Math.floor(rand() * 12);
      if (w > u.watermark) {
        // A call that sends a later watermark: what the combiner holds goes first if it must.
        u.combiner.begin(u.watermark, false);
        u.combiner.end(w, false);
        assertNoRecordHeld(u.combiner, what);
        u.watermark = w;
      }
      const min = Math.min(ups[0].watermark, ups[1].watermark);
      if (min > watermark) {
        watermark = min;
        ours.watermark(min);
        theirs.watermark(min);
      }
    }
    compare(step);
    if (step === checkpointAt) {
      // The barrier: the task releases what its combiner holds first (run.release()).
      for (const x of ups) x.combiner.flush();
      compare("release");
      for (const x of ups) assert.equal(x.combiner.held, 0, "the combiner holds nothing");
      const timerEntries = ours.snapshotTimers();
      const restored = harness(config, fns, { table: new Map(copy([...ours.table])), timerEntries });
      restored.setWatermark(watermark);
      Object.assign(restored.ctx.stats, ours.ctx.stats);
      ours = restored;
    }
  }
  for (const u of ups) {
    u.combiner.begin(u.watermark, false);
    u.combiner.end(Infinity, false);
    u.watermark = Infinity;
  }
  ours.watermark(Infinity);
  theirs.watermark(Infinity);
  compare("end");
  ours.assertEmpty();
  theirs.assertEmpty();
  return { partials, folded, heldOn };
}

// A record that goes on as it is (possibly late) leaves with its call, before the watermark
// after it, as it would without the combiner: only partials wait past the end of a call.
function assertNoRecordHeld(combiner, what) {
  for (let i = 0; i < combiner.held; i++) {
    assert.notEqual(combiner.kinds[i], 0, what + ": a record held past the end of its call");
  }
}

// Outputs [key, [start, end], value, ts] in order of ts, then key; each key's keep their order.
function byEndAndKey(outputs) {
  const keyed = outputs.map((o, i) => [o[3], JSON.stringify(o[0]), i, o]);
  keyed.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : a[2] - b[2]));
  return keyed.map((k) => k[3]);
}

test("session windows with an aggregate get one partial a record, records late at the combiner as they are", () => {
  const config = { assigner: { type: "session", gap: 10 }, function: "aggregate", lateOutput: true };
  const fns = { create: () => 0, add: (a) => a + 1, merge: (a, b) => a + b };
  const got = [];
  const c = new Combiner({ id: 1, name: "w", kind: "window", config, fns }, {},
                         runtime.window_config, (kg, r, ts) => got.push([r, ts]));
  c.begin(20, false);
  c.add(0, "a", "a", { x: 1 }, 25);
  c.add(0, "a", "a", { x: 2 }, 26);
  c.add(0, "a", "a", { x: 3 }, 12);  // [12, 22): its last time 21 is after 20: a partial
  c.add(0, "a", "a", { x: 4 }, 11);  // [11, 21) may have fired: as it is
  c.flush();
  assert.deepEqual(got, [[{ [PARTIAL]: 1, key: "a", acc: 1 }, 25], [{ [PARTIAL]: 1, key: "a", acc: 1 }, 26],
                         [{ [PARTIAL]: 1, key: "a", acc: 1 }, 12], [{ x: 4 }, 11]]);
});

test("session windows with count fold runs of records that meet, and send the run's interval", () => {
  const config = { assigner: { type: "session", gap: 10 }, function: "count", lateOutput: true };
  const got = [];
  const c = new Combiner({ id: 1, name: "w", kind: "window", config, fns: {} }, {},
                         runtime.window_config, (kg, r, ts) => got.push([r, ts]));
  c.begin(20, false);
  c.add(0, "a", "a", { x: 1 }, 25);  // a's run [25, 35)
  c.add(1, "b", "b", { x: 2 }, 40);  // b's run [40, 50)
  c.add(0, "a", "a", { x: 3 }, 45);  // [45, 55) touches [25, 35)? no: 45 > 35: a new run
  c.add(0, "a", "a", { x: 4 }, 36);  // [36, 46) meets a's open run [45, 55): [36, 55)
  c.add(0, "a", "a", { x: 5 }, 26);  // meets [36, 55) (36 <= 36): [26, 55)
  c.add(1, "b", "b", { x: 6 }, 12);  // [12, 22): its last time 21 is after 20; apart from [40, 50)
  c.add(1, "b", "b", { x: 7 }, 11);  // [11, 21) may have fired: as it is, and closes b's run
  c.add(1, "b", "b", { x: 8 }, 41);  // a new run after it
  c.flush();
  const run = (key, acc, start, end) => [{ [PARTIAL]: 1, key, acc, end }, start];
  assert.deepEqual(got, [run("a", 1, 25, 35), run("b", 1, 40, 50), run("a", 3, 26, 55),
                         run("b", 1, 12, 22), [{ x: 7 }, 11], run("b", 1, 41, 51)]);
  assert.equal(c.held, 0);
  // The window operator merges them as it would have merged the records.
  const ours = harness(config, {}), theirs = harness(config, {});
  for (const w of [ours, theirs]) w.setWatermark(20);
  for (const [r, ts] of got) {
    if (r[PARTIAL] === 1) {
      ours.op.processPartial(keys.keyGroupOf(r.key, MAX_PARALLELISM), r.key, r.key, r.acc, ts, r.end);
    } else {
      ours.add("b", r, ts);
    }
  }
  for (const [key, ts] of [["a", 25], ["b", 40], ["a", 45], ["a", 36], ["a", 26], ["b", 12],
                           ["b", 11], ["b", 41]]) {
    theirs.add(key, {}, ts);
  }
  // [11, 21) meets [12, 22) downstream: not late there.
  assert.deepEqual(ours.late, []);
  assert.deepEqual(theirs.late, []);
  for (const w of [ours, theirs]) w.watermark(Infinity);
  const expected = [["b", [11, 22], 2, 21], ["b", [40, 51], 2, 50], ["a", [25, 55], 4, 54]];
  assert.deepEqual(theirs.take(), expected);
  assert.deepEqual(ours.take(), expected);
});

test("a session run's partial that arrives late is an error naming the operator", () => {
  const w = harness({ assigner: { type: "session", gap: 10 }, function: "count" }, {});
  w.setWatermark(100);
  assert.throws(() => w.op.processPartial(0, "a", "a", 3, 40, 60),
                /win.*a session run's partial \[40, 60\) arrived late \(watermark 100\)/);
  assert.throws(() => w.op.processPartial(0, "a", "a", 3, 140, 130), /bad end 130/);
});

test("windows behind a combiner emit what they emit alone (random inputs, two upstreams)", () => {
  let partials = 0, folded = 0, heldOn = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const r = run(seed);
    partials += r.partials;
    folded += r.folded;
    heldOn += r.heldOn;
  }
  assert.ok(partials > 10000, "partials were sent: " + partials);
  assert.ok(folded > 1000, "session runs folded records: " + folded);
  assert.ok(heldOn > 1000, "partials waited in a combiner past the end of a batch: " + heldOn);
});

test("... going on from a checkpoint taken between two batches", () => {
  for (let seed = 2001; seed <= 2150; seed++) run(seed, { checkpointAt: 150 });
});

test("a record late at the combiner goes on as it is, and the window operator sends it aside", () => {
  const config = { assigner: { type: "tumbling", size: 10 }, function: "count", lateOutput: true };
  const got = [];
  const c = new Combiner({ id: 1, name: "w", kind: "window", config, fns: {} }, {},
                         runtime.window_config, (kg, r, ts) => got.push([r, ts]));
  c.begin(19, false);
  c.add(0, "a", "a", { x: 1 }, 25);  // window [20, 30): folds
  c.add(0, "a", "a", { x: 2 }, 26);
  c.add(0, "a", "a", { x: 3 }, 5);   // window [0, 10) ended before the watermark: as it is
  c.add(0, "a", "a", { x: 4 }, 27);  // a new partial after it (the key's order)
  c.flush();
  assert.deepEqual(got, [[{ [PARTIAL]: 1, key: "a", acc: 2 }, 25], [{ x: 3 }, 5],
                         [{ [PARTIAL]: 1, key: "a", acc: 1 }, 27]]);
  const w = harness(config, {});
  w.setWatermark(19);
  for (const [r, ts] of got) {
    if (r[PARTIAL] === 1) w.op.processPartial(0, "a", "a", r.acc, ts);
    else w.op.processElement(0, 0, "a", "a", r, ts);
  }
  assert.deepEqual(w.late, [[{ x: 3 }, 5]]);
  w.watermark(Infinity);
  assert.deepEqual(w.take(), [["a", [20, 30], 3, 29]]);
});

test("an idle output sends every record as it is; a window in its allowed lateness too", () => {
  const config = { assigner: { type: "sliding", size: 10, slide: 5 }, function: "count",
                   allowedLateness: 20 };
  const got = [];
  const c = new Combiner({ id: 1, name: "w", kind: "window", config, fns: {} }, {},
                         runtime.window_config, (kg, r) => got.push(r));
  c.begin(-Infinity, true);
  c.add(0, "a", "a", 1, 3);
  c.add(0, "a", "a", 2, 3);
  c.flush();
  assert.deepEqual(got.splice(0), [1, 2]);
  c.begin(12, false);
  c.add(0, "a", "a", 3, 7);   // window [5, 15) ends after 12 but [0, 10) fired: as it is
  c.add(0, "a", "a", 4, 13);  // windows [5, 15) and [10, 20): folds
  c.add(0, "a", "a", 5, 14);
  c.flush();
  assert.deepEqual(got, [3, { [PARTIAL]: 1, key: "a", acc: 2 }]);
});

test("records of 7 and of \"7\" (one key string) fold into one partial, in order", () => {
  const config = { assigner: { type: "tumbling", size: 10 }, function: "aggregate" };
  const fns = { create: () => "", add: (a, r) => a + r.x, merge: (a, b) => a + b };  // not commutative
  const got = [];
  const c = new Combiner({ id: 1, name: "w", kind: "window", config, fns }, {},
                         runtime.window_config, (kg, r, ts) => got.push([r, ts]));
  c.begin(0, false);
  const g = keys.keyGroupOf(7, MAX_PARALLELISM);
  c.add(g, "7", 7, { x: "a" }, 1);
  c.add(g, "7", "7", { x: "b" }, 2);
  c.add(g, "", 7, { x: "c" }, 3);  // a combiner's memo makes no string for an integer key
  c.flush();
  assert.deepEqual(got, [[{ [PARTIAL]: 1, key: 7, acc: "abc" }, 1]]);
});

test("a number key and a key string that is the number's are one key to the combiner", () => {
  assert.equal(Combiner.idOf("7", 7), 7);
  assert.equal(Combiner.idOf("7", "7"), 7);
  assert.equal(Combiner.idOf("-3", "-3"), -3);
  assert.equal(Combiner.idOf("NaN", "NaN"), Combiner.idOf("NaN", NaN));
  assert.ok(Number.isNaN(Combiner.idOf("NaN", "NaN")));
  assert.equal(Combiner.idOf("Infinity", "Infinity"), Infinity);
  assert.equal(Combiner.idOf("12", 12n), 12);
  // Strings that are not a number's own key string stay strings: no two key strings share an id.
  for (const text of ["07", "-0", "1e3", " 1", "1.50", "0x10", "", "Inf", "-", "7a"]) {
    assert.equal(Combiner.idOf(text, text), text, text);
  }
  assert.ok(Combiner.idOf("0", -0) === 0);  // String(-0) is "0"; a Map equates -0 and 0
  assert.equal(Combiner.idOf("{\"id\":1}", { id: 1 }), "{\"id\":1}");
});

test("combinable: event-time tumbling and sliding windows whose function merges", () => {
  const parse = (config, fns = {}) =>
    runtime.window_config.parse({ id: 1, name: "w", kind: "window", config, fns }, { params: {} });
  assert.ok(combinable(parse({ assigner: { type: "tumbling", size: 5 }, function: "count" })));
  const session = { assigner: { type: "session", gap: 5 } };
  assert.ok(combinable(parse({ ...session, function: "count" }), "count"));
  assert.ok(!combinable(parse({ ...session, function: "reduce" }, { reduce: (a) => a }), "reduce"));
  assert.ok(!combinable(parse({ ...session, function: "count", trigger: { type: "count", count: 2 } }),
                        "count"));
  assert.ok(!combinable(parse({ assigner: { type: "tumbling", size: 5 }, function: "count",
                                trigger: { type: "count", count: 2 } })));
  assert.ok(!combinable(parse({ assigner: { type: "tumbling", size: 5 }, function: "count",
                                time: "processing" })));
  assert.ok(!combinable(parse({ assigner: { type: "tumbling", size: 5 }, function: "aggregate" },
                              { create: () => 0, add: (a) => a + 1 })));
  assert.throws(() => new Combiner({ id: 1, name: "w", kind: "window",
                                     config: { assigner: { type: "session", gap: 5 },
                                               function: "reduce" }, fns: { reduce: (a) => a } },
                                   {}, runtime.window_config, () => {}),
                /cannot take partial accumulators/);
});
