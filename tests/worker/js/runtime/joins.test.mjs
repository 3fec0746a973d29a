// joins.js: keyed window join (tumbling, sliding, session) and interval join on out-of-order
// input, with late records and state cleanup, against a state table that keeps JSON copies.
import test from "node:test";
import assert from "node:assert/strict";
import { load, copyingTable, TimerService } from "./helpers.mjs";

const keys = load("keys.js");
const joins = load("joins.js");

function harness(kind, config, apply) {
  const out = [];
  let watermark = -Infinity;
  const ctx = {
    params: Object.freeze({ tag: "p" }),
    state: copyingTable(),
    timers: new TimerService(),
    emit(record, ts) { out.push([record, ts]); },
    emitLate() { throw new Error("joins have no late output"); },
    now: () => 0,
    watermark: () => watermark,
    stats: { lateDropped: 0, lateSideOutput: 0 },
  };
  const op = joins.make({ id: "op4", name: "match", kind, config, fns: { apply } }, ctx);
  return {
    op, ctx, out,
    left: (key, record, ts) => send(0, key, record, ts),
    right: (key, record, ts) => send(1, key, record, ts),
    watermark(w) { watermark = w; op.onWatermark(w); },
    // Drains the output collected so far.
    take() { return out.splice(0, out.length); },
  };
  function send(input, key, record, ts) {
    const ks = keys.keyString(key);
    op.processElement(input, keys.keyGroupOfString(ks, 128), ks, key, record, ts);
  }
}

function assertClean(h) {
  assert.equal(h.ctx.state.entries.size, 0, "state left: " + [...h.ctx.state.entries.keys()]);
  assert.equal(h.ctx.timers.size, 0);
}

const pairName = (l, r, w, p) => {
  assert.equal(p.tag, "p");
  return r.skip ? undefined : `${l.id}${r.id}@${w.start}-${w.end}`;
};

test("tumbling window join: pairs per key and window, left-major in arrival order", () => {
  const h = harness("window_join", { assigner: { type: "tumbling", size: 10 } }, pairName);
  h.left("a", { id: "l1" }, 3);
  h.right("a", { id: "r1" }, 7);
  h.left("b", { id: "l2" }, 5);
  h.left("a", { id: "l3" }, 1);
  h.right("a", { id: "r2" }, 12);
  h.right("b", { id: "r3" }, 9);
  h.right("a", { id: "r4" }, 2);
  h.left("c", { id: "l9" }, 4);  // no partner
  h.watermark(8);
  assert.deepEqual(h.take(), []);
  h.watermark(9);
  assert.deepEqual(h.take(), [
    ["l1r1@0-10", 9], ["l1r4@0-10", 9], ["l3r1@0-10", 9], ["l3r4@0-10", 9],
    ["l2r3@0-10", 9],
  ]);
  h.left("a", { id: "l5" }, 8);  // [0, 10) fired: late
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.left("a", { id: "l6" }, 19);
  h.right("a", { id: "r5" }, 15);
  h.right("a", { id: "r6", skip: true }, 11);  // apply returns undefined: nothing
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["l6r2@10-20", 19], ["l6r5@10-20", 19]]);
  assert.equal(h.ctx.stats.lateDropped, 1);
  assertClean(h);
});

test("sliding window join: a record is in size/slide windows; late only when all fired", () => {
  const h = harness("window_join", { assigner: { type: "sliding", size: 10, slide: 5 } },
                    pairName);
  h.left("k", { id: "a" }, 7);    // [5,15) [0,10)
  h.right("k", { id: "b" }, 12);  // [10,20) [5,15)
  h.right("k", { id: "c" }, -2);  // [-5,5) [-10,0)
  h.left("k", { id: "d" }, -6);   // [-10,0) [-15,-5)
  h.watermark(9);                 // fires up to [0, 10)
  assert.deepEqual(h.take(), [["dc@-10-0", -1]]);
  h.right("k", { id: "e" }, 8);   // [0,10) fired, [5,15) open
  h.left("k", { id: "f" }, 3);    // [0,10) and [-5,5) fired: late
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["ab@5-15", 14], ["ae@5-15", 14]]);
  assertClean(h);
});

test("sliding windows with gaps between them: a record in a gap is not late", () => {
  const h = harness("window_join", { assigner: { type: "sliding", size: 5, slide: 10 } },
                    pairName);
  h.left("k", { id: "a" }, 3);    // [0,5)
  h.right("k", { id: "b" }, 4);
  h.right("k", { id: "c" }, 7);   // between [0,5) and [10,15): in no window
  h.watermark(20);
  h.left("k", { id: "d" }, 17);   // between windows, and after the watermark: still not late
  h.left("k", { id: "e" }, 12);   // [10,15) fired: late
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["ab@0-5", 4]]);
  assertClean(h);
});

test("session window join: sessions merge (touching too), pairs keep arrival order", () => {
  const h = harness("window_join", { assigner: { type: "session", gap: 10 } }, pairName);
  h.left("a", { id: "l1" }, 0);     // [0,10)
  h.right("a", { id: "r1" }, 25);   // [25,35)
  h.left("a", { id: "l2" }, 12);    // [12,22)
  h.left("b", { id: "x1" }, 100);   // [100,110)
  h.right("a", { id: "r2" }, 10);   // touches [0,10), overlaps [12,22): [0,22)
  h.left("b", { id: "x2" }, 115);   // [115,125)
  h.right("a", { id: "r3" }, 5);    // inside [0,22)
  h.left("b", { id: "x3" }, 104);   // [100,114)
  h.right("b", { id: "y1" }, 112);  // [100,114) + [115,125): [100,125)
  h.watermark(20);
  assert.deepEqual(h.take(), []);
  h.left("a", { id: "l3" }, 24);    // [24,34) + [25,35): [24,35)
  h.watermark(21);
  assert.deepEqual(h.take(), [
    ["l1r2@0-22", 21], ["l1r3@0-22", 21], ["l2r2@0-22", 21], ["l2r3@0-22", 21],
  ]);
  h.right("a", { id: "r4" }, 3);    // [3,13) is late and meets no open session
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.watermark(30);
  h.right("a", { id: "r5" }, 15);   // [15,25) is late alone but extends [24,35) (as Flink)
  assert.equal(h.ctx.stats.lateDropped, 1);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [
    ["l3r1@15-35", 34], ["l3r5@15-35", 34],
    ["x1y1@100-125", 124], ["x2y1@100-125", 124], ["x3y1@100-125", 124],
  ]);
  assertClean(h);
});

test("session window join: touching windows merge, as Flink's do; sessions fire in time order", () => {
  const h = harness("window_join", { assigner: { type: "session", gap: 10 } }, pairName);
  h.left("t", { id: "l" }, 0);    // [0,10)
  h.right("t", { id: "r" }, 10);  // [10,20): one session [0,20)
  h.left("u", { id: "m" }, 0);
  h.right("u", { id: "n" }, 11);  // [11,21): a gap of 11, two sessions
  h.left("v", { id: "p" }, 20);   // the later session of v is opened first
  h.right("v", { id: "q" }, 21);
  h.left("v", { id: "s" }, 0);
  h.right("v", { id: "t" }, 1);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["st@0-11", 10], ["lr@0-20", 19], ["pq@20-31", 30]]);
  assertClean(h);
});

// Pins the order ctx.timers gives sessions that end at one time, which a session join that keeps
// its own timers must reproduce: not registration order, but per (time, namespace) group in the
// order the groups were made, then registration order within a group; and a grown session's
// place is that of its growth (when ctx.timers registers its new end), not of its first record.
test("session window join: sessions ending at one time fire by window group, then registration", () => {
  const h = harness("window_join", { assigner: { type: "session", gap: 10 } }, pairName);
  h.left("a", { id: "a" }, 3);
  h.right("a", { id: "A" }, 3);   // [3,13): group (12, "3:13")
  h.left("c", { id: "c" }, 0);    // [0,10)
  h.right("c", { id: "C" }, 3);   // [0,13): group (12, "0:13"), made after "3:13"
  h.left("b", { id: "b" }, 3);
  h.right("b", { id: "B" }, 3);   // [3,13): joins group "3:13", registered after c's
  h.left("d", { id: "d" }, 10);   // [10,20)
  h.right("d", { id: "D" }, 15);  // [10,25): its timer at 24 registered now
  h.left("e", { id: "e" }, 15);
  h.right("e", { id: "E" }, 15);  // [15,25): registered after d's growth
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [
    ["aA@3-13", 12], ["bB@3-13", 12], ["cC@0-13", 12], ["dD@10-25", 24], ["eE@15-25", 24],
  ]);
  assertClean(h);
});

test("interval join: pairs when complete, ts = max, cleanup by watermark, late dropped", () => {
  const seen = [];
  const h = harness("interval_join", { lower: -2, upper: 3 }, (l, r, p) => {
    seen.push(p.tag);
    return r.skip ? undefined : l.id + r.id;
  });
  const buffered = (key, side) =>
    h.ctx.state.get(keys.keyGroupOf(key, 128), key)[side === "L" ? 0 : 1].map((e) => e[1].id);
  h.left("a", { id: "l1" }, 10);
  assert.deepEqual(h.take(), []);
  h.right("a", { id: "r1" }, 12);
  assert.deepEqual(h.take(), [["l1r1", 12]]);
  h.right("a", { id: "r2" }, 7);   // l1 needs r in [8, 13]
  h.left("a", { id: "l2" }, 9);    // r in [7, 12]: r2, r1 in time order
  h.right("a", { id: "r3" }, 8);   // l in [5, 10]: l2, l1
  assert.deepEqual(h.take(), [["l2r2", 9], ["l2r1", 12], ["l2r3", 9], ["l1r3", 10]]);
  h.watermark(9);                  // r2 (kept until 7 + 2 = 9) goes
  assert.deepEqual(buffered("a", "R"), ["r3", "r1"]);
  assert.deepEqual(buffered("a", "L"), ["l2", "l1"]);
  h.left("a", { id: "l3" }, 5);    // kept until 8 <= 9: late
  h.right("a", { id: "r4" }, 6);   // kept until 8: late
  assert.equal(h.ctx.stats.lateDropped, 2);
  h.left("a", { id: "l4" }, 7);    // kept until 10: joins r3 (8), not r2 (gone)
  h.right("a", { id: "r5", skip: true }, 11);  // l2, l1 match; apply returns undefined
  h.left("b", { id: "m1" }, 100);
  h.right("b", { id: "n1" }, 103);
  h.right("b", { id: "n2" }, 104);
  assert.deepEqual(h.take(), [["l4r3", 8], ["m1n1", 103]]);
  h.watermark(11);
  assert.deepEqual(buffered("a", "L"), ["l2", "l1"]);
  assert.deepEqual(buffered("a", "R"), ["r5", "r1"]);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), []);
  assert.equal(h.ctx.stats.lateDropped, 2);
  assert.ok(seen.length === 9 && seen.every((t) => t === "p"));
  assertClean(h);
});

test("interval join with a negative window and equal times", () => {
  const h = harness("interval_join", { lower: -5, upper: -5 }, (l, r) => l.id + r.id);
  h.right("k", { id: "r1" }, 0);
  h.right("k", { id: "r2" }, 0);
  h.left("k", { id: "l1" }, 5);   // r.ts must be exactly 0
  h.left("k", { id: "l2" }, 6);
  h.right("k", { id: "r3" }, 1);
  assert.deepEqual(h.take(), [["l1r1", 5], ["l1r2", 5], ["l2r3", 6]]);
  h.watermark(1);                 // l1 kept until 0, r1/r2 until 5, r3 until 6, l2 until 1
  h.right("k", { id: "r4" }, 0);  // kept until 5 > 1; l1 is gone
  assert.deepEqual(h.take(), []);
  h.watermark(Infinity);
  assertClean(h);
});

test("a record without event time is an error naming the operator and the input", () => {
  const w = harness("window_join", { assigner: { type: "tumbling", size: 10 } }, pairName);
  assert.throws(() => w.right("a", { id: "r" }, undefined),
                /operator 'match' \(op4\): window_join needs event time, but a record on input 1 \(right\) has no timestamp/);
  const i = harness("interval_join", { lower: 0, upper: 1 }, pairName);
  assert.throws(() => i.left("a", { id: "l" }, NaN),
                /operator 'match' \(op4\): interval_join needs event time, but a record on input 0 \(left\)/);
});

test("tumbling and sliding window joins honour the assigner's offset, as windows do", () => {
  const t = harness("window_join", { assigner: { type: "tumbling", size: 10, offset: 3 } }, pairName);
  t.left("a", { id: "l1" }, 2);   // [-7, 3)
  t.right("a", { id: "r1" }, 2);
  t.left("a", { id: "l2" }, 3);   // [3, 13)
  t.right("a", { id: "r2" }, 12);
  t.watermark(Infinity);
  assert.deepEqual(t.take(), [["l1r1@-7-3", 2], ["l2r2@3-13", 12]]);
  assertClean(t);
  const s = harness("window_join", { assigner: { type: "sliding", size: 10, slide: 5, offset: -2 } },
                    pairName);
  s.left("a", { id: "l" }, 4);    // [-7, 3) no; [-2, 8) and [3, 13)
  s.right("a", { id: "r" }, 7);
  s.watermark(Infinity);
  assert.deepEqual(s.take(), [["lr@-2-8", 7], ["lr@3-13", 12]]);
  assertClean(s);
});

test("bad configs are errors naming the operator and the field", () => {
  const bad = (kind, config, re, apply = pairName) =>
    assert.throws(() => harness(kind, config, apply), re);
  bad("window_join", {}, /operator 'match' \(op4\): window_join needs config.assigner/);
  bad("window_join", { assigner: { type: "hopping" } }, /op4.*assigner.type must be.*"hopping"/);
  bad("window_join", { assigner: { type: "tumbling", size: 0 } }, /op4.*assigner.size must be a positive/);
  bad("window_join", { assigner: { type: "sliding", size: 10 } }, /op4.*assigner.slide/);
  bad("window_join", { assigner: { type: "session", gap: "1s" } }, /op4.*assigner.gap.*"1s"/);
  bad("window_join", { assigner: { type: "tumbling", size: 10, offset: 10 } },
      /op4.*assigner.offset must be a whole number of milliseconds smaller in magnitude than the size \(10\), not 10/);
  bad("window_join", { assigner: { type: "sliding", size: 10, slide: 5, offset: 0.5 } },
      /op4.*assigner.offset.*than the slide \(5\), not 0.5/);
  bad("interval_join", { lower: 5, upper: 1 }, /op4.*lower \(5\) must not exceed upper \(1\)/);
  bad("interval_join", { upper: 1 }, /op4.*config lower must be a number/);
  bad("interval_join", { lower: 0, upper: 1 }, /op4.*needs a function 'apply'/, null);
  bad("process", {}, /op4.*joins.js makes/);
});
