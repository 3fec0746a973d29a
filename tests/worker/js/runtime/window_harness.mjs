// The window operator with its ctx, for windows*.test.mjs: a real TimerService and an
// in-memory state table that stores copies (so an operator that changes a value without putting
// it back is caught), or with `live: true` keeps the objects it is given (like the state cache);
// `lib` is the windows library (default worker/js/runtime/windows.js).
import assert from "node:assert/strict";
import { load, TimerService } from "./helpers.mjs";

export { TimerService };
export const keys = load("keys.js");
export const windows = load("windows.js");
// The window operator's other scripts, as the chain's driver passes them (ctx.runtime).
export const runtime = Object.freeze({
  window_config: load("window_config.js"),
  window_slices: load("window_slices.js"),
  window_sessions: load("window_sessions.js"),
});

export const MAX_PARALLELISM = 128;
export const copy = (v) => JSON.parse(JSON.stringify(v));

// A seeded random number generator (mulberry32): the random tests repeat from their seed.
export function prng(seed) {
  let st = seed | 0;
  return () => {
    let t = (st = (st + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Window functions for the random tests: associative (a window's value does not depend on how its
// records are grouped, as a merge must be), some not commutative (the order records came in shows).
export const FUNCTIONS = [
  ["count", {}, () => ({})],
  ["reduce", { reduce: (a, b) => { a.v += b.v; return a; } }, (n) => ({ v: n })],
  ["reduce", { reduce: (a, b) => a + b }, (n) => String.fromCharCode(97 + (n % 26))],
  ["reduce", { reduce: (a, b) => (b.v > a.v ? b : a) }, (n) => ({ v: n % 7, id: n })],
  ["aggregate", {
    create: () => [],
    add: (acc, r) => { acc.push(r); return acc; },
    merge: (a, b) => { for (const x of b) a.push(x); return a; },
    result: (acc) => acc.join(","),
  }, (n) => n],
];


// A window operator with its ctx; `table` and `timers` are what a restored task starts from, or
// `timerEntries`: the timers' table of a checkpoint (snapshotTimers()), restored as a task does
// (state.js restoreTimers: the timers restored, then their changes tracked, then the operator
// made).
export function harness(config, fns = {}, options = {}) {
  const { live = false, params = {}, table = new Map(), lib = windows, timerEntries,
          driver = false } = options;
  let { timers = new TimerService() } = options;
  // The timers' state table: key group and key -> [keyGroup, key, value], as checkpoints left it.
  const timerTable = new Map();
  if (timerEntries !== undefined) {
    timers = new TimerService();
    timers.restoreEntries(copy(timerEntries));
    timers.trackChanges();
    for (const e of timerEntries) timerTable.set(e[0] + "\u0000" + e[1], copy(e));
  }
  const id = (keyGroup, keyString) => keyGroup + "\u0000" + keyString;
  const out = [];
  const late = [];
  let watermark = -Infinity;
  let now = 0;
  const ctx = {
    params: Object.freeze(params),
    state: {
      get(keyGroup, keyString) {
        const value = table.get(id(keyGroup, keyString));
        return value === undefined || live ? value : copy(value);
      },
      put(keyGroup, keyString, value) {
        table.set(id(keyGroup, keyString), live ? value : copy(value));
      },
      delete(keyGroup, keyString) {
        table.delete(id(keyGroup, keyString));
      },
    },
    timers,
    emit: (record, ts) => out.push([record.key, [record.window.start, record.window.end],
                                    record.value, ts]),
    emitLate: (record, ts) => late.push([record, ts]),
    now: () => now,
    watermark: () => watermark,
    stats: { lateDropped: 0, lateSideOutput: 0 },
    runtime,
  };
  const op = lib.make({ id: 7, name: "win", kind: "window", config, fns }, ctx);
  let pendingOut = null;
  const timerCount = () => (op.timerCount === undefined ? ctx.timers.size : op.timerCount);
  const handle = {
    op, ctx, table, late,
    fastAdds: 0,  // records the fast path took (`driver`)
    // `driver`: as the chain's generated driver (worker/js/chain_driver.cc, EmitProcess) feeds a
    // window operator: its fast path (addFast) first, processElement when that does not apply.
    add(key, record, ts) {
      const keyString = keys.keyString(key);
      const keyGroup = keys.keyGroupOf(key, MAX_PARALLELISM);
      if (driver && op.addFast !== undefined && typeof ts === "number" &&
          ts >= op.fastFrom && ts < op.fastTo && op.fastTo - 1 > watermark &&
          op.addFast(keyGroup, keyString, record)) {
        handle.fastAdds++;
        return;
      }
      op.processElement(0, keyGroup, keyString, key, record, ts);
    },
    watermark(w) {
      watermark = w;
      op.onWatermark(w);
    },
    // Sets the watermark as a restored task would, without firing anything.
    setWatermark(w) {
      watermark = w;
    },
    setNow(t) {
      now = t;
    },
    advance(t) {
      now = t;
      op.onProcessingTime(t);
    },
    // The outputs since the last take, as [key, [start, end], value, ts].
    take: () => out.splice(0),
    entry: (key) => table.get(id(keys.keyGroupOf(key, MAX_PARALLELISM), keys.keyString(key))),
    // Live timers: ctx.timers' and those the operator keeps itself (windows.js, window end
    // timers).
    timerCount,
    // A checkpoint of the timers, as a task takes it: the barrier (beginTimers) freezes the
    // changes, then they are written `budget` at a time (finishTimers, maybe after more input)
    // into the timers' table, whose entries it returns (what a restore reads).
    beginTimers() {
      pendingOut = [];
      ctx.timers.freezeChanges(pendingOut);
    },
    finishTimers(budget = 3) {
      while (!ctx.timers.takeFrozen(budget)) {}
      for (let i = 0; i < pendingOut.length; i += 3) {
        const id = pendingOut[i] + "\u0000" + pendingOut[i + 1];
        if (pendingOut[i + 2] === null) timerTable.delete(id);
        else timerTable.set(id, [pendingOut[i], pendingOut[i + 1], pendingOut[i + 2]]);
      }
      pendingOut = null;
      return copy([...timerTable.values()]);
    },
    snapshotTimers(budget) {
      this.beginTimers();
      return this.finishTimers(budget);
    },
    timerTable,
    // Nothing left: no state, no timers.
    assertEmpty() {
      assert.equal(table.size, 0, "state table empty");
      assert.equal(timerCount(), 0, "no timers left");
    },
  };
  return handle;
}
