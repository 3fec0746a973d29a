// process.js: keyed process functions with ValueState, MapState and event-time and
// processing-time timers, against a state table that keeps JSON copies.
import test from "node:test";
import assert from "node:assert/strict";
import { load, copyingTable, TimerService } from "./helpers.mjs";

const keys = load("keys.js");
const processLib = load("process.js");

function harness(fns, params = {}) {
  const out = [];
  let watermark = -Infinity, now = 1000;
  const ctx = {
    params: Object.freeze(params),
    state: copyingTable(),
    timers: new TimerService(),
    emit(record, ts) { out.push([record, ts]); },
    emitLate() { throw new Error("no late output here"); },
    now: () => now,
    watermark: () => watermark,
    stats: { lateDropped: 0, lateSideOutput: 0 },
  };
  const op = processLib.make({ id: "op9", name: "alerts", kind: "process", config: {}, fns }, ctx);
  return {
    op, ctx, out,
    send(key, record, ts) {
      const ks = keys.keyString(key);
      op.processElement(0, keys.keyGroupOfString(ks, 128), ks, key, record, ts);
    },
    watermark(w) { watermark = w; op.onWatermark(w); },
    clock(t) { now = t; op.onProcessingTime(t); },
    take() { return out.splice(0, out.length); },
  };
}

function assertClean(h) {
  assert.equal(h.ctx.state.entries.size, 0, "state left: " + [...h.ctx.state.entries.keys()]);
  assert.equal(h.ctx.timers.size, 0);
}

// "a" and 8 share key group 51: state must still be told apart by key.
test("counts per key in ValueState and emits on an event-time timer", () => {
  assert.equal(keys.keyGroupOf("a", 128), keys.keyGroupOf(8, 128));
  const h = harness({
    processElement(r, ctx, p) {
      const count = ctx.value("count");
      count.update((count.value() ?? 0) + 1);
      const end = ctx.timestamp - (ctx.timestamp % p.size) + p.size - 1;
      ctx.timerService.registerEventTimeTimer(end);  // once per (key, time)
      assert.equal(ctx.timeDomain, undefined);
      assert.equal(ctx.timerService.currentWatermark(), h.lastWatermark);
    },
    onTimer(t, ctx) {
      assert.equal(ctx.timeDomain, "event");
      assert.equal(ctx.timestamp, t);
      ctx.emit({ key: ctx.key, count: ctx.value("count").value(), end: t + 1 });
      ctx.value("count").clear();
    },
  }, { size: 10 });
  h.lastWatermark = -Infinity;
  h.send("a", {}, 3);
  h.send(8, {}, 8);
  h.send("a", {}, 1);
  h.send("a", {}, 12);   // registers 19 for a: the count is per key, not per window
  h.send(8, {}, 5);
  h.lastWatermark = 9;
  h.watermark(9);
  assert.deepEqual(h.take(), [[{ key: "a", count: 3, end: 10 }, 9], [{ key: 8, count: 2, end: 10 }, 9]]);
  h.send(8, {}, 15);
  h.send("a", {}, 14);
  h.lastWatermark = Infinity;
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [[{ key: "a", count: 1, end: 20 }, 19], [{ key: 8, count: 1, end: 20 }, 19]]);
  assertClean(h);
});

test("emit in processElement carries the record's time; deleted timers do not fire", () => {
  const h = harness({
    processElement(r, ctx) {
      ctx.emit(r.v);
      if (r.v === "set") ctx.timerService.registerEventTimeTimer(50);
      if (r.v === "unset") ctx.timerService.deleteEventTimeTimer(50);
    },
    onTimer(t, ctx) { ctx.emit("timer " + ctx.key); },
  });
  h.send("x", { v: "set" }, 10);
  h.send("y", { v: "set" }, undefined);
  h.send("x", { v: "unset" }, 12);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["set", 10], ["set", undefined], ["unset", 12], ["timer y", 50]]);
  assertClean(h);
});

test("MapState: put, get, contains, remove, keys, values, entries, isEmpty, clear per key", () => {
  const seen = {};
  const h = harness({
    processElement(r, ctx) {
      const m = ctx.map("bids");
      switch (r.op) {
        case "put": m.put(r.k, r.v); break;
        case "remove": m.remove(r.k); break;
        case "clear": m.clear(); break;
        case "bump": {  // a value changed in place is kept only when put back
          const v = m.get(r.k);
          v.n++;
          if (r.putBack) m.put(r.k, v);
          break;
        }
      }
      seen[ctx.key] = { keys: m.keys(), values: m.values(), entries: m.entries(),
                        empty: m.isEmpty(), hasA: m.contains("a"), a: m.get("a") };
    },
  });
  h.send("u", { op: "put", k: "a", v: { n: 1 } }, 0);
  h.send("u", { op: "put", k: "b", v: [2] }, 0);
  h.send("w", { op: "put", k: "a", v: "other key" }, 0);
  assert.deepEqual(seen.u, { keys: ["a", "b"], values: [{ n: 1 }, [2]],
                             entries: [["a", { n: 1 }], ["b", [2]]], empty: false, hasA: true,
                             a: { n: 1 } });
  assert.deepEqual(seen.w.entries, [["a", "other key"]]);
  h.send("u", { op: "bump", k: "a" }, 0);
  assert.deepEqual(seen.u.a, { n: 1 });
  h.send("u", { op: "bump", k: "a", putBack: true }, 0);
  assert.deepEqual(seen.u.a, { n: 2 });
  h.send("u", { op: "put", k: "__proto__", v: 5 }, 0);
  h.send("u", { op: "put", k: "toString", v: null }, 0);
  assert.deepEqual(seen.u.keys, ["a", "b", "__proto__", "toString"]);
  assert.deepEqual(seen.u.values, [{ n: 2 }, [2], 5, null]);
  h.send("u", { op: "remove", k: "a" }, 0);
  h.send("u", { op: "remove", k: "missing" }, 0);
  h.send("u", { op: "put", k: "b", v: undefined }, 0);  // removes b
  assert.deepEqual(seen.u, { keys: ["__proto__", "toString"], values: [5, null],
                             entries: [["__proto__", 5], ["toString", null]], empty: false,
                             hasA: false, a: undefined });
  h.send("u", { op: "remove", k: "__proto__" }, 0);
  h.send("u", { op: "remove", k: "toString" }, 0);
  assert.deepEqual(seen.u, { keys: [], values: [], entries: [], empty: true, hasA: false,
                             a: undefined });
  h.send("w", { op: "clear" }, 0);
  assert.equal(seen.w.empty, true);
  assertClean(h);
});

test("processing-time timers fire by the clock with timeDomain 'processing'", () => {
  const h = harness({
    processElement(r, ctx) {
      const now = ctx.timerService.currentProcessingTime();
      ctx.value("last").update(r.v);
      ctx.timerService.registerProcessingTimeTimer(now + 100);
      if (r.cancel) ctx.timerService.deleteProcessingTimeTimer(now + 100);
    },
    onTimer(t, ctx, p) {
      assert.equal(ctx.timeDomain, "processing");
      ctx.emit({ key: ctx.key, last: ctx.value("last").value(), at: ctx.timestamp, tag: p.tag });
      ctx.value("last").clear();
    },
  }, { tag: "t" });
  h.send("a", { v: 1 }, undefined);       // timer at 1100
  h.clock(1050);
  h.send("b", { v: 2 }, undefined);       // 1150
  h.send("a", { v: 3 }, undefined);       // 1150
  h.send("c", { v: 4, cancel: true }, 5);
  h.watermark(Infinity);                  // event time does not fire processing timers
  assert.deepEqual(h.take(), []);
  h.clock(1099);
  assert.deepEqual(h.take(), []);
  h.clock(1100);
  assert.deepEqual(h.take(), [[{ key: "a", last: 3, at: 1100, tag: "t" }, 1100]]);
  h.clock(2000);
  assert.deepEqual(h.take(), [[{ key: "b", last: 2, at: 1150, tag: "t" }, 1150],
                              [{ key: "a", last: undefined, at: 1150, tag: "t" }, 1150]]);
  h.send("c", { v: 0 }, undefined);
  h.clock(Infinity);
  assert.equal(h.take().length, 1);
  assertClean(h);
});

test("errors name the operator", () => {
  assert.throws(() => harness({}), /operator 'alerts' \(op9\): process needs a function 'processElement'/);
  assert.throws(() => harness({ processElement() {}, onTimer: 1 }), /op9.*'onTimer' must be a function/);

  const badTime = harness({ processElement(r, ctx) { ctx.timerService.registerEventTimeTimer(r.t); } });
  assert.throws(() => badTime.send("a", { t: "5" }, 1),
                /operator 'alerts' \(op9\): timerService.registerEventTimeTimer\(time\) needs a time in epoch milliseconds \(a number\), not "5"/);
  assert.throws(() => badTime.send("a", {}, 1), /registerEventTimeTimer.*not undefined/);
  assert.throws(() => badTime.send("a", { t: NaN }, 1), /registerEventTimeTimer.*not NaN/);

  const noOnTimer = harness({ processElement(r, ctx) { ctx.timerService.registerEventTimeTimer(5); } });
  noOnTimer.send("k", {}, 1);
  assert.throws(() => noOnTimer.watermark(5),
                /operator 'alerts' \(op9\): an event-time timer \(5\) fired for key "k", but the process function has no onTimer/);

  const mixed = harness({ processElement(r, ctx) { ctx.value("s").update(1); ctx.map("s"); } });
  assert.throws(() => mixed.send("k", {}, 1), /op9.*state 's' is a ValueState; ctx.map\('s'\) cannot/);
  const unnamed = harness({ processElement(r, ctx) { ctx.value(""); } });
  assert.throws(() => unnamed.send("k", {}, 1), /op9.*ctx.value\(name\) needs a non-empty string/);
  const numberKey = harness({ processElement(r, ctx) { ctx.map("m").put(1, 2); } });
  assert.throws(() => numberKey.send("k", {}, 1), /op9.*MapState 'm'.put: keys are strings, not 1/);
  assert.throws(() => processLib.make({ id: "x", name: "y", kind: "map", fns: {} }, {}),
                /operator 'y' \(x\): process.js makes 'process', not 'map'/);
});
