// The window join of tumbling and sliding windows with its own end timers (joins.js, with the
// window libraries in ctx.runtime, as the chain's driver passes them) against the join as it was
// before (joins_oracle.js, a copy: a timer per key and window in ctx.timers, nested window lists):
// on random inputs — keys, both sides, records out of order, watermarks, late records, offsets,
// slides smaller or larger than the size — both emit the same pairs in the same order after every
// step and count the same late records, and end with nothing left. A run may stop half-way and go
// on from a checkpoint (the state table and the timers' table, written a few entries at a time
// with input in between), taken by the new join or by the old one (a checkpoint from before),
// restored into one task or split by key group into two (a restore at another parallelism).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";
import { load } from "./helpers.mjs";
import { TimerService, keys, prng, runtime, MAX_PARALLELISM, copy } from "./window_harness.mjs";

const joins = load("joins.js");
const oraclePath = path.join(path.dirname(fileURLToPath(import.meta.url)), "joins_oracle.js");
const oracle = vm.runInThisContext(fs.readFileSync(oraclePath, "utf8"), { filename: oraclePath });

const apply = (l, r, w) => (r.skip ? undefined : `${l.id}|${r.id}@${w.start}-${w.end}`);
const id = (keyGroup, keyString) => keyGroup + "\u0000" + keyString;
const groupOf = (key) => keys.keyGroupOf(key, MAX_PARALLELISM);

// A join with its ctx: `table` (state) and `timerEntries` (the timers' table of a checkpoint)
// are what a restored task starts from; `live` keeps the objects put (as the state cache does)
// rather than copies; `lib` the joins library; `withRuntime` passes the window libraries.
function harness(config, { lib = joins, live = false, table = new Map(), timerEntries,
                           withRuntime = true } = {}) {
  const timers = new TimerService();
  const timerTable = new Map();
  if (timerEntries !== undefined) {
    timers.restoreEntries(copy(timerEntries));
    for (const e of timerEntries) timerTable.set(e[0] + "\u0000" + e[1], copy(e));
  }
  const out = [];
  let watermark = -Infinity;
  const ctx = {
    params: Object.freeze({}),
    state: {
      get: (g, k) => {
        const v = table.get(id(g, k));
        return v === undefined || live ? v : copy(v);
      },
      put: (g, k, v) => table.set(id(g, k), live ? v : copy(v)),
      delete: (g, k) => table.delete(id(g, k)),
    },
    timers,
    emit: (record, ts) => out.push([record, ts]),
    emitLate() { throw new Error("joins have no late output"); },
    now: () => 0,
    watermark: () => watermark,
    stats: { lateDropped: 0, lateSideOutput: 0 },
  };
  if (withRuntime) ctx.runtime = runtime;
  const op = lib.make({ id: "j1", name: "join", kind: "window_join", config, fns: { apply } }, ctx);
  let pending = null;
  return {
    op, ctx, table, timerTable,
    send(input, key, record, ts) {
      op.processElement(input, groupOf(key), keys.keyString(key), key, record, ts);
    },
    watermark(w) {
      watermark = w;
      op.onWatermark(w);
    },
    setWatermark(w) {
      watermark = w;
    },
    take: () => out.splice(0),
    // A checkpoint's timers: the barrier freezes them, then they go out `budget` at a time.
    beginTimers() {
      pending = [];
      ctx.timers.freezeChanges(pending);
    },
    finishTimers(budget) {
      while (!ctx.timers.takeFrozen(budget)) {}
      for (let i = 0; i < pending.length; i += 3) {
        const k = pending[i] + "\u0000" + pending[i + 1];
        if (pending[i + 2] === null) timerTable.delete(k);
        else timerTable.set(k, [pending[i], pending[i + 1], pending[i + 2]]);
      }
      pending = null;
      return copy([...timerTable.values()]);
    },
    timerCount: () => ctx.timers.size + (op.endTimers ? op.endTimers.count : 0),
  };
}

function randomConfig(rand) {
  const size = [1, 2, 3, 5, 10][Math.floor(rand() * 5)];
  if (rand() < 0.5) {
    const config = { assigner: { type: "tumbling", size } };
    if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * size - 1)) - (size - 1);
    return config;
  }
  const slide = [1, 2, 3, 4, 5, 7, 12][Math.floor(rand() * 7)];
  const config = { assigner: { type: "sliding", size, slide } };
  if (rand() < 0.3) config.assigner.offset = Math.floor(rand() * (2 * slide - 1)) - (slide - 1);
  return config;
}

// `checkpointAt`: at that step a checkpoint's barrier: the state table as it is and the timers
// frozen, written a few entries at a time `gap` steps later, with input in between (as a task
// writes them between batches). The run then goes on from that checkpoint, of the new join
// ("new") or of the old one ("old"), in one task or in two that split the key groups (`split`):
// the restored join(s) replay the input since the barrier and must emit what was emitted since.
function run(seed, { steps = 300, checkpointAt = -1, gap = 0, from = "new", split = false,
                     live = false } = {}) {
  const rand = prng(seed);
  const config = randomConfig(rand);
  const what = JSON.stringify(config) + " seed " + seed + " from " + from + (split ? " split" : "");
  const keyList = ["a", "b", "c", "d", 7, "e"].slice(0, 1 + Math.floor(rand() * 6));
  const keyByName = new Map(keyList.map((k) => [String(k), k]));
  let ours = [harness(config, { live })];
  const theirs = harness(config, { lib: oracle, live, withRuntime: false });
  const partOf = (key) => (ours.length === 1 ? 0 : groupOf(key) < 64 ? 0 : 1);
  const outKey = (out) => keyByName.get(out.slice(0, out.indexOf(":")));
  let watermark = -Infinity, time = Math.floor(rand() * 40) - 20, n = 0;
  let barrier = null;  // { table, watermark, ops, outs } while a checkpoint is being written
  const byPart = (outs, p) => (ours.length === 1 ? outs
                                                 : outs.filter(([o]) => partOf(outKey(o)) === p));
  const apply = (h, op) => (op.w !== undefined ? h.watermark(op.w)
                                              : h.send(op.input, op.key, copy(op.record), op.ts));
  for (let step = 0; step < steps; step++) {
    const r = rand();
    let op = null;
    if (r < 0.75) {
      time += Math.floor(rand() * 3);
      const ts = rand() < 0.2 ? time - Math.floor(rand() * 15) : time;
      const key = keyList[Math.floor(rand() * keyList.length)];
      const record = { id: String(key) + ":" + n++ };
      const input = rand() < 0.5 ? 0 : 1;
      if (input === 1 && rand() < 0.1) record.skip = true;
      op = { input, key, record, ts };
    } else if (r < 0.95) {
      const w = time - Math.floor(rand() * 8);
      if (w > watermark) {
        watermark = w;
        op = { w };
      }
    }
    if (op !== null) {
      apply(theirs, op);
      if (op.w !== undefined) for (const h of ours) apply(h, op);
      else apply(ours[partOf(op.key)], op);
    }
    const expected = theirs.take();
    for (let p = 0; p < ours.length; p++) {
      assert.deepEqual(ours[p].take(), byPart(expected, p), what + ": outputs at step " + step);
    }
    const dropped = ours.reduce((s, h) => s + h.ctx.stats.lateDropped, 0);
    assert.equal(dropped, theirs.ctx.stats.lateDropped, what + ": late records at step " + step);
    if (barrier !== null) {
      if (op !== null) barrier.ops.push(op);
      barrier.outs.push(...expected);
    }
    const source = from === "new" ? ours[0] : theirs;
    if (step === checkpointAt) {
      source.beginTimers();
      barrier = { table: copy([...source.table]), watermark, ops: [], outs: [],
                  dropped: theirs.ctx.stats.lateDropped };
    }
    if (barrier !== null && step === checkpointAt + gap) {
      const entries = source.finishTimers(1 + Math.floor(rand() * 4));
      const parts = split ? [0, 1] : [0];
      const mine = (p, keyGroup) => !split || (keyGroup < 64) === (p === 0);
      ours = parts.map((p) => harness(config, {
        live,
        table: new Map(barrier.table.filter(([k]) => mine(p, Number(k.split("\u0000")[0])))),
        timerEntries: entries.filter(([keyGroup]) => mine(p, keyGroup)) }));
      for (const h of ours) h.setWatermark(barrier.watermark);
      for (const o of barrier.ops) {
        if (o.w !== undefined) for (const h of ours) apply(h, o);
        else apply(ours[partOf(o.key)], o);
      }
      for (let p = 0; p < ours.length; p++) {
        assert.deepEqual(ours[p].take(), byPart(barrier.outs, p), what + ": outputs replayed");
      }
      ours[0].ctx.stats.lateDropped += barrier.dropped;
      const dropped = ours.reduce((s, h) => s + h.ctx.stats.lateDropped, 0);
      assert.equal(dropped, theirs.ctx.stats.lateDropped, what + ": late records replayed");
      barrier = null;
    }
  }
  for (const h of [...ours, theirs]) h.watermark(Infinity);
  const expected = theirs.take();
  for (let p = 0; p < ours.length; p++) {
    assert.deepEqual(ours[p].take(), byPart(expected, p), what + ": outputs at the end");
  }
  for (const h of [...ours, theirs]) {
    assert.equal(h.table.size, 0, what + ": state left");
    assert.equal(h.timerCount(), 0, what + ": timers left");
  }
  return ours;
}

test("the window join with its own end timers emits what the old join emits (random inputs)",
     () => {
  for (let seed = 1; seed <= 300; seed++) run(seed);
  for (let seed = 301; seed <= 400; seed++) run(seed, { live: true });
});

test("... going on from a checkpoint of the new join, written with input after the barrier",
     () => {
  for (let seed = 1001; seed <= 1150; seed++) {
    run(seed, { checkpointAt: 120, gap: seed % 3 === 0 ? 0 : 20, live: seed % 2 === 0 });
  }
});

test("... going on from a checkpoint of the old join (nested windows, ctx.timers' timers)", () => {
  for (let seed = 2001; seed <= 2150; seed++) {
    run(seed, { checkpointAt: 120, gap: seed % 3 === 0 ? 0 : 20, from: "old" });
  }
});

test("... restored at another parallelism: two tasks of half the key groups each", () => {
  for (let seed = 3001; seed <= 3150; seed++) {
    run(seed, { checkpointAt: 120, gap: 15, split: true, from: seed % 2 === 0 ? "new" : "old" });
  }
});

test("the new join keeps its window end timers itself, one bucket per window end", () => {
  const h = harness({ assigner: { type: "tumbling", size: 10 } });
  const sends = [[0, "a", 1], [1, "a", 2], [0, "b", 3], [1, "c", 12], [0, "a", 4]];
  for (const [input, key, ts] of sends) {
    h.send(input, key, { id: key + ":" + ts }, ts);
  }
  assert.equal(h.ctx.timers.size, 0, "none in ctx.timers");
  assert.equal(h.op.endTimers.count, 3, "one per key and window");
  assert.equal(h.op.endTimers.buckets.length, 2, "one bucket per window end");
  assert.deepEqual(h.table.get(id(groupOf("a"), "a")),
                   [0, 2, 1, { id: "a:1" }, { id: "a:4" }, { id: "a:2" }], "packed");
  const entries = (h.beginTimers(), h.finishTimers(2));
  for (const [, key] of entries) assert.match(key, /^\["end",\d+,\d+\]$/);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a:1|a:2@0-10", 9], ["a:4|a:2@0-10", 9]]);
  assert.equal(h.op.endTimers.count, 1);
});

test("entries of the join's earlier formats (nested, and flat with side arrays) are read", () => {
  const config = { assigner: { type: "sliding", size: 10, slide: 5 } };
  for (const entry of [
    [[-5, [{ id: "a:1" }], [{ id: "a:2" }]], [0, [{ id: "a:1" }], [{ id: "a:2" }, { id: "a:3" }]],
     [5, [], [{ id: "a:3" }]]],
    [-5, [{ id: "a:1" }], [{ id: "a:2" }], 0, [{ id: "a:1" }], [{ id: "a:2" }, { id: "a:3" }],
     5, [], [{ id: "a:3" }]],
  ]) {
    const old = harness(config, { lib: oracle, withRuntime: false });
    old.send(0, "a", { id: "a:1" }, 4);  // [-5, 5) and [0, 10)
    old.send(1, "a", { id: "a:2" }, 4);
    old.send(1, "a", { id: "a:3" }, 6);  // [0, 10) and [5, 15)
    const entries = (old.beginTimers(), old.finishTimers(10));
    const table = new Map([[id(groupOf("a"), "a"), entry]]);
    const h = harness(config, { table, timerEntries: entries });
    assert.equal(h.ctx.timers.size, 3, "the old join's timers, in ctx.timers");
    h.send(0, "a", { id: "a:4" }, 7);
    h.watermark(Infinity);
    assert.deepEqual(h.take(), [["a:1|a:2@-5-5", 4], ["a:1|a:2@0-10", 9], ["a:1|a:3@0-10", 9],
                                ["a:4|a:2@0-10", 9], ["a:4|a:3@0-10", 9], ["a:4|a:3@5-15", 14]]);
    assert.equal(h.table.size, 0);
    assert.equal(h.timerCount(), 0);
  }
});
