// StateTables (worker/js/runtime/state.js) against a fake native backend.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { FakeNative, random } from "./state_fake.mjs";
import { TimerService } from "./helpers.mjs";

const source = readFileSync(new URL("../../../../worker/js/runtime/state.js", import.meta.url),
                            "utf8");
const { StateTables } = vm.runInThisContext(source, { filename: "state.js" });

// Everything that fires up to the end of time, as "keyString@time/namespace".
function drain(timers) {
  const fired = [];
  const push = (t) => fired.push(t.keyString + "@" + t.time + "/" + t.namespace);
  timers.advanceWatermark(Infinity, push);
  timers.advanceProcessingTime(Infinity, push);
  return fired;
}

test("a miss asks the backend once; later reads are hits that return the cached object", () => {
  const native = new FakeNative();
  native.store.set("0|5|a", JSON.stringify({ n: 1 }));
  const tables = new StateTables(native, { cacheEntries: 10 });
  const t = tables.table(0);
  const a = t.get(5, "a");
  assert.deepEqual(a, { n: 1 });
  assert.equal(t.get(5, "a"), a);
  assert.equal(t.get(5, "missing"), undefined);
  assert.equal(t.get(5, "missing"), undefined);  // the absence is cached too
  assert.deepEqual(native.gets, [[0, 5, "a"], [0, 5, "missing"]]);
  assert.deepEqual(tables.stats(), { entries: 2, hits: 2, misses: 2, reads: 2, evictions: 0, writes: 0 });

  a.n = 2;
  t.put(5, "a", a);
  assert.equal(t.get(5, "a").n, 2);
  assert.equal(native.writeCalls.length, 0);  // nothing written before a flush or an eviction
});

test("tables and key groups are separate keys", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  tables.table(0).put(1, "k", "t0g1");
  tables.table(0).put(2, "k", "t0g2");
  tables.table(3).put(1, "k", "t3g1");
  assert.equal(tables.table(0).get(1, "k"), "t0g1");
  assert.equal(tables.table(0).get(2, "k"), "t0g2");
  assert.equal(tables.table(3).get(1, "k"), "t3g1");
  assert.equal(tables.table(1).get(1, "k"), undefined);
  tables.flush();
  assert.equal(native.stored(0, 1, "k"), "t0g1");
  assert.equal(native.stored(0, 2, "k"), "t0g2");
  assert.equal(native.stored(3, 1, "k"), "t3g1");
  assert.equal(native.store.size, 3);
});

test("eviction drops the oldest-inserted chunk and writes only its dirty entries, in one call", () => {
  const native = new FakeNative();
  for (let i = 0; i < 16; i++) native.store.set("0|0|k" + i, JSON.stringify(i));
  const tables = new StateTables(native, { cacheEntries: 16 });  // evicts 2 at a time
  const t = tables.table(0);
  for (let i = 0; i < 16; i++) t.get(0, "k" + i);  // 16 clean entries, k0 oldest
  t.put(0, "k1", 100);                             // dirty, still second oldest
  t.get(0, "k0");                                  // a hit does not make k0 younger
  t.put(0, "k15", 500);
  assert.equal(native.writeCalls.length, 0);

  t.put(0, "new1", 1);  // full: k0 and k1 go, only k1 is written
  assert.deepEqual(native.writeCalls, [[[0, 0, "k1", "100"]]]);
  assert.equal(tables.stats().entries, 15);
  assert.equal(tables.stats().evictions, 2);
  t.put(0, "new2", 2);  // 16 entries now, room for this one
  assert.equal(native.writeCalls.length, 1);
  t.get(0, "k17");      // a miss that must make room: k2 and k3 go, both clean
  assert.equal(native.writeCalls.length, 1);
  assert.equal(tables.stats().evictions, 4);

  // Evicted entries come back from the backend with their latest value.
  native.gets.length = 0;
  assert.equal(t.get(0, "k1"), 100);
  assert.equal(t.get(0, "k0"), 0);
  assert.deepEqual(native.gets, [[0, 0, "k1"], [0, 0, "k0"]]);
  assert.equal(t.get(0, "k15"), 500);  // never evicted: a hit
  assert.equal(native.gets.length, 2);
  assert.equal(tables.stats().writes, 1);
});

test("a deletion is remembered until written, then the absence is known", () => {
  const native = new FakeNative();
  native.store.set("0|1|gone", JSON.stringify("old"));
  native.store.set("0|1|cached", JSON.stringify("old"));
  const tables = new StateTables(native, { cacheEntries: 100 });
  const t = tables.table(0);
  assert.equal(t.get(1, "cached"), "old");
  t.delete(1, "cached");
  t.delete(1, "gone");  // never read: deleted without asking the backend
  assert.equal(t.get(1, "gone"), undefined);
  assert.equal(t.get(1, "cached"), undefined);
  assert.deepEqual(native.gets, [[0, 1, "cached"]]);
  assert.equal(native.stored(0, 1, "gone"), "old");  // not written yet

  tables.flush();
  assert.deepEqual(native.writeCalls, [[[0, 1, "cached", null], [0, 1, "gone", null]]]);
  assert.equal(native.store.size, 0);
  assert.equal(t.get(1, "gone"), undefined);
  t.delete(1, "gone");  // known absent: nothing more to write
  tables.flush();
  assert.equal(native.writeCalls.length, 1);
  assert.equal(native.gets.length, 1);

  t.put(1, "gone", "again");
  tables.flush();
  assert.equal(native.stored(0, 1, "gone"), "again");
});

test("an evicted deletion is written as one", () => {
  const native = new FakeNative();
  native.store.set("0|0|a", JSON.stringify(1));
  const tables = new StateTables(native, { cacheEntries: 8 });  // evicts 1 at a time
  const t = tables.table(0);
  t.delete(0, "a");
  for (let i = 0; i < 8; i++) t.put(0, "b" + i, i);
  assert.deepEqual(native.writeCalls, [[[0, 0, "a", null]]]);
  assert.equal(native.store.has("0|0|a"), false);
  assert.equal(t.get(0, "a"), undefined);
});

test("flush writes every dirty entry in one call, then nothing until something changes", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 1000 });
  const t0 = tables.table(0), t1 = tables.table(1);
  for (let i = 0; i < 300; i++) t0.put(i % 7, "k" + i, { i });
  for (let i = 0; i < 200; i++) t1.get(0, "r" + i);  // clean
  t1.put(0, "r3", [3]);
  tables.flush();
  assert.equal(native.writeCalls.length, 1);
  assert.equal(native.writeCalls[0].length, 301);
  assert.deepEqual(native.stored(0, 299 % 7, "k299"), { i: 299 });
  assert.deepEqual(native.stored(1, 0, "r3"), [3]);
  tables.flush();
  assert.equal(native.writeCalls.length, 1);

  const v = t0.get(1, "k1");
  v.i = -1;
  t0.put(1, "k1", v);
  tables.flush();
  assert.deepEqual(native.writeCalls[1], [[0, 1, "k1", JSON.stringify({ i: -1 })]]);
  assert.deepEqual(tables.stats(),
                   { entries: 500, hits: 1, misses: 200, reads: 200, evictions: 0, writes: 302 });
});

test("a failed write loses nothing: the entries stay dirty and cached", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 4 });  // evicts 1 at a time
  const t = tables.table(0);
  for (let i = 0; i < 4; i++) t.put(0, "k" + i, i);
  native.failWrites = true;
  assert.throws(() => t.put(0, "k4", 4), /disk full/);
  assert.throws(() => tables.flush(), /disk full/);
  assert.equal(tables.stats().entries, 4);
  native.failWrites = false;
  tables.flush();
  for (let i = 0; i < 4; i++) assert.equal(native.stored(0, 0, "k" + i), i);
});

test("state much larger than the cache reads back exactly (100k keys, 1k entries)", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 1000 });
  const t = tables.table(0), u = tables.table(1);
  const N = 100000;
  for (let i = 0; i < N; i++) {
    t.put(i % 128, "key" + i, { i, s: "v" + i });
    if (i % 10 === 0) u.put(i % 128, "key" + i, i);
  }
  for (let i = 0; i < N; i += 2) {  // read-modify-write half of them, deleting some
    const kg = i % 128;
    const value = t.get(kg, "key" + i);
    assert.deepEqual(value, { i, s: "v" + i });
    if (i % 6 === 0) {
      t.delete(kg, "key" + i);
    } else {
      value.s += "!";
      t.put(kg, "key" + i, value);
    }
  }
  const stats = tables.stats();
  assert.ok(stats.entries <= 1000, `entries ${stats.entries}`);
  assert.ok(stats.evictions > 100000, `evictions ${stats.evictions}`);
  // Each eviction call writes at most a chunk (125 entries).
  assert.ok(native.writeCalls.every((call) => call.length <= 125));

  const expected = (i) => (i % 6 === 0 ? undefined : { i, s: "v" + i + (i % 2 === 0 ? "!" : "") });
  for (let i = 0; i < N; i++) {
    assert.deepEqual(t.get(i % 128, "key" + i), expected(i));
    if (i % 10 === 0) assert.equal(u.get(i % 128, "key" + i), i);
  }
  // Everything is in the backend after a flush: a fresh cache reads the same.
  tables.flush();
  const fresh = new StateTables(native, { cacheEntries: 1000 });
  for (let i = 0; i < N; i++) {
    assert.deepEqual(fresh.table(0).get(i % 128, "key" + i), expected(i));
    assert.equal(fresh.table(1).get(i % 128, "key" + i), i % 10 === 0 ? i : undefined);
  }
  assert.equal(native.store.size, N - Math.ceil(N / 6) + N / 10);
});

test("without a backend it is a plain store that evicts nothing", () => {
  const tables = new StateTables(null, { cacheEntries: 10 });
  const t = tables.table(0);
  for (let i = 0; i < 5000; i++) t.put(i % 3, "k" + i, i);
  t.delete(0, "k0");
  t.delete(0, "never");
  tables.flush();
  assert.equal(t.get(0, "k0"), undefined);
  assert.equal(t.get(1, "k4999"), 4999);
  assert.equal(t.get(2, "k4999"), undefined);
  assert.deepEqual(tables.stats(), { entries: 4999, hits: 1, misses: 2, reads: 0, evictions: 0, writes: 0 });
});

test("bad use is a clear error", () => {
  const native = new FakeNative();
  assert.throws(() => new StateTables(native, { cacheEntries: 0 }), /cacheEntries/);
  assert.throws(() => new StateTables(native, { cacheEntries: 1.5 }), /cacheEntries/);
  const tables = new StateTables(native, { cacheEntries: 10 });
  assert.throws(() => tables.table(-1), /index/);
  assert.throws(() => tables.table(2).put(3, "k", undefined),
                /state table 2: put of undefined for key "k" \(key group 3\)/);
  native.store.set("0|0|bad", "{not json");
  assert.throws(() => tables.table(0).get(0, "bad"),
                /state table 0: the stored value of key "bad" \(key group 0\) is not JSON/);
  tables.table(1).put(0, "fn", () => 1);
  assert.throws(() => tables.flush(), /state table 1: the value of key "fn".*cannot be stored/);
});

// The timer entries of table 1 in the store, as "keyGroup|key -> value".
function timerEntries(native) {
  return [...native.store].filter(([id]) => id.startsWith("1|")).map(([id, v]) => id.slice(2) + " -> " + v).sort();
}

test("snapshot writes one entry per timer registered or gone since the last, and the state", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  const timers = new TimerService();
  tables.table(0).put(3, "a", { n: 1 });
  timers.registerEventTimeTimer(10, 3, "a", "a", "0:11");
  timers.registerProcessingTimeTimer(20, 3, "a", "a", "");
  timers.registerEventTimeTimer(10, 7, "b", { id: 2 }, "0:11");
  tables.snapshot(1, timers);
  assert.equal(native.snapshotCalls, 1, "state and timers in one call");
  assert.deepEqual(native.stored(0, 3, "a"), { n: 1 });
  assert.deepEqual(timerEntries(native), [
    '3|[0,10,"0:11","a"] -> [0,0]', '3|[1,20,"","a"] -> [1,1]',
    '7|[0,10,"0:11","b"] -> [2,0,{"id":2}]']);

  // a and b fire at 10; c is registered and deleted between two snapshots: nothing of it is
  // written; d is new.
  timers.advanceWatermark(10, () => {});
  timers.registerEventTimeTimer(30, 5, "c", "c", "");
  timers.deleteEventTimeTimer(30, "c", "");
  timers.registerEventTimeTimer(40, 5, "d", "d", "");
  tables.snapshot(1, timers);
  assert.equal(native.snapshotCalls, 2);
  assert.equal(native.snapshotEntries.at(-1), 3, "two deletions and one new timer");
  assert.deepEqual(timerEntries(native), [
    '3|[1,20,"","a"] -> [1,1]', '5|[0,40,"","d"] -> [4,4]']);
  tables.snapshot(1, timers);
  assert.equal(native.snapshotCalls, 2, "nothing changed: no call");
});

test("restoreTimers registers the stored timers in their old order, the older format too", () => {
  const native = new FakeNative();
  const before = new StateTables(native, { cacheEntries: 100 });
  const timers = new TimerService();
  // One time, many key groups, registered out of key-group order; a namespace made, emptied
  // and used again keeps its place.
  const keys = ["k5", "k1", "k9", "k3", "k7"];
  timers.registerEventTimeTimer(50, 1, "gone", "gone", "w2");
  for (const [i, k] of keys.entries()) {
    timers.registerEventTimeTimer(50, 100 - i * 10, k, k, "w" + (i % 2));
    timers.registerProcessingTimeTimer(Infinity, 100 - i * 10, k, k, "");
  }
  timers.registerEventTimeTimer(40, 3, "early", "early", "");
  before.snapshot(1, timers);
  timers.deleteEventTimeTimer(50, "gone", "w2");
  timers.registerEventTimeTimer(50, 1, "again", "again", "w2");
  before.snapshot(1, timers);
  const expected = drain(timers);

  const after = new StateTables(native, { cacheEntries: 100 });
  const restored = new TimerService();
  after.restoreTimers(1, restored, 128);
  assert.deepEqual(drain(restored), expected);
  assert.deepEqual(expected.slice(0, 3), ["early@40/", "again@50/w2", "k5@50/w0"]);

  // The older format (one entry per key group, key ""): restored, rewritten per timer by the
  // next snapshot, which deletes the old entries.
  const old = new FakeNative();
  const original = new TimerService();
  for (const [i, k] of keys.entries()) original.registerEventTimeTimer(50, 100 - i * 10, k, k, "");
  for (const [keyGroup, runs] of original.snapshotByKeyGroup()) {
    old.store.set("1|" + keyGroup + "|", JSON.stringify(runs));
  }
  const migrated = new StateTables(old, { cacheEntries: 100 });
  const fromOld = new TimerService();
  migrated.restoreTimers(1, fromOld, 128);
  migrated.snapshot(1, fromOld);
  assert.ok(timerEntries(old).every((e) => !e.includes("|  ->") && e.includes("[0,50")), timerEntries(old).join());
  assert.equal(timerEntries(old).length, keys.length);
  const again = new TimerService();
  new StateTables(old, { cacheEntries: 100 }).restoreTimers(1, again, 128);
  assert.deepEqual(drain(again), drain(fromOld));
});

test("timers that cannot be stored, and stored timers that are bad, are clear errors", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  const timers = new TimerService();
  timers.registerEventTimeTimer(1, 4, "1", 1n, "");
  assert.throws(() => tables.snapshot(1, timers),
                /^TypeError: the timer of key "1" \(key group 4\) cannot be stored as JSON \(.*BigInt.*; a key must be a JSON value\)$/);
  native.store.set("1|2|", "{}");
  assert.throws(() => new StateTables(native).restoreTimers(1, new TimerService(), 8),
                /^TypeError: state table 1: the timers of key group 2 are not a list$/);
  native.store.set("1|2|", "[[");
  assert.throws(() => new StateTables(native).restoreTimers(1, new TimerService(), 8),
                /^Error: state table 1: the stored value of key "" \(key group 2\) is not JSON/);
  native.store.delete("1|2|");
  native.store.set("1|2|[0,1]", "[0,0]");
  assert.throws(() => new StateTables(native).restoreTimers(1, new TimerService(), 8),
                /^TypeError: state table 1: the stored timer \[0,1\] of key group 2 is not \[domain/);
});

test("without a backend, snapshot and restoreTimers do nothing", () => {
  const tables = new StateTables(null);
  const timers = new TimerService();
  timers.registerEventTimeTimer(1, 4, "a", "a", "");
  tables.snapshot(1, timers);
  tables.restoreTimers(1, timers, 128);
  assert.equal(timers.size, 1);
});

test("a key that lived and died in the cache is never written; one the backend may hold is", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 4 });  // evicts 1 at a time
  const t = tables.table(0);
  // Read (absent), put, deleted before any flush or eviction: the backend never had it.
  assert.equal(t.get(0, "window"), undefined);
  t.put(0, "window", [1, 2]);
  t.delete(0, "window");
  assert.equal(t.get(0, "window"), undefined);
  tables.flush();
  assert.deepEqual(native.writeCalls, []);
  // Flushed, then deleted: the backend holds it, so the deletion is written.
  assert.equal(t.get(0, "kept"), undefined);
  t.put(0, "kept", 1);
  tables.flush();
  t.delete(0, "kept");
  tables.flush();
  assert.deepEqual(native.writeCalls, [[[0, 0, "kept", "1"]], [[0, 0, "kept", null]]]);
  // Put without a read (the backend may hold the key): its deletion is written.
  t.put(0, "blind", 1);
  t.delete(0, "blind");
  tables.flush();
  assert.deepEqual(native.writeCalls[2], [[0, 0, "blind", null]]);
  // Evicting known absences writes nothing.
  for (let i = 0; i < 6; i++) {
    t.get(0, "k" + i);
    t.put(0, "k" + i, i);
    t.delete(0, "k" + i);
  }
  assert.equal(native.writeCalls.length, 3);
  assert.ok(tables.stats().evictions > 0);
});

test("a copy-on-write checkpoint holds exactly the state and timers at its barrier, timers registered again at a time that fired and checkpoints given up too", () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const rnd = random(seed);
    const native = new FakeNative();
    const tables = new StateTables(native, { cacheEntries: 40 });  // evicts while writing
    const timers = new TimerService();
    tables.trackTimers(1, timers);
    const t = tables.table(0);
    const model = new Map();  // key -> value
    let watermark = 0, checkpoints = 0;
    const step = () => {
      const k = "k" + rnd(150), kg = k.length;
      const op = rnd(10);
      if (op < 4) {  // an operator's read-modify-write of the cached object
        const v = t.get(kg, k) ?? { n: 0 };
        v.n++;
        t.put(kg, k, v);
        model.set(k, { n: v.n });
      } else if (op < 5) {
        t.delete(kg, k);
        model.delete(k);
      } else if (op < 7) {
        assert.deepEqual(t.get(kg, k), model.get(k), k);
      } else if (op < 9) {
        // Timers of few keys, at times around the watermark: some at a time that just fired
        // (they fire at the next advance), so one (time, key, namespace) has a timer again.
        const tk = "k" + rnd(20), time = watermark - 3 + rnd(24);
        const key = rnd(4) === 0 ? { k: tk } : tk;
        timers.registerEventTimeTimer(time, tk.length, tk, key, "w" + ((time + 3) % 3));
      } else if (rnd(3) === 0) {
        watermark += rnd(5);
        timers.advanceWatermark(watermark, () => {});
      } else {
        const tk = "k" + rnd(20), time = watermark - 3 + rnd(24), ns = "w" + ((time + 3) % 3);
        timers.deleteEventTimeTimer(time, tk, ns);
        if (rnd(2) === 0) timers.registerEventTimeTimer(time, tk.length, tk, tk, ns);
      }
    };
    for (let round = 0; round < 30; round++) {
      for (let i = rnd(200); i > 0; i--) step();
      // The barrier.
      native.freeze();
      tables.beginSnapshot();
      const state = new Map([...model].map(([k, v]) => [k, JSON.stringify(v)]));
      const reference = new TimerService();
      reference.restore(JSON.parse(JSON.stringify(timers.snapshot())));
      // Its writes, in parts, while records go on; some checkpoints are given up.
      let givenUp = false;
      while (!tables.continueSnapshot(1 + rnd(8))) {
        for (let i = rnd(30); i > 0; i--) step();
        if (rnd(40) === 0) {
          tables.abortSnapshot();
          native.thaw();
          givenUp = true;
          break;
        }
      }
      if (givenUp) continue;
      checkpoints++;
      const image = native.image();
      for (let i = 0; i < 150; i++) {
        const k = "k" + i;
        assert.equal(image.get("0|" + k.length + "|" + k), state.get(k), `seed ${seed}, ${k}`);
      }
      const restoredNative = new FakeNative();
      restoredNative.store = new Map(image);
      const restored = new TimerService();
      new StateTables(restoredNative).restoreTimers(1, restored, 128);
      assert.deepEqual(drain(restored), drain(reference), `seed ${seed}, checkpoint ${checkpoints}`);
      native.thaw();
    }
    tables.flush();
    for (let i = 0; i < 150; i++) {
      const k = "k" + i;
      assert.deepEqual(native.stored(0, k.length, k), model.get(k));
    }
  }
});

test("a checkpoint given up leaves its entries dirty for the next one", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  const timers = new TimerService();
  tables.trackTimers(1, timers);
  const t = tables.table(0);
  for (let i = 0; i < 10; i++) t.put(0, "k" + i, i);
  timers.registerEventTimeTimer(5, 0, "k1", "k1", "");
  native.freeze();
  tables.beginSnapshot();
  assert.equal(tables.continueSnapshot(3), false);
  assert.equal(t.get(0, "k9"), 9);  // taken by the read, not sent yet: the abort sends it
  tables.abortSnapshot();
  native.thaw();
  assert.equal(native.stored(0, 0, "k9"), 9);
  native.freeze();
  tables.beginSnapshot();
  assert.equal(tables.continueSnapshot(Infinity), true);
  const image = native.image();
  for (let i = 0; i < 10; i++) assert.equal(image.get("0|0|k" + i), String(i));
  assert.equal(image.get('1|0|[0,5,"","k1"]'), "[0,0]");
  native.thaw();
  assert.throws(() => { tables.beginSnapshot(); tables.beginSnapshot(); }, /began before/);
});

test("without checkpoints the dirty list stays bounded while entries are evicted", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  const t = tables.table(0);
  for (let i = 0; i < 100000; i++) t.put(0, "k" + (i % 5000), i);
  assert.ok(tables.dirtyList.length <= 2 * 100 + 1024 + 1, String(tables.dirtyList.length));
  tables.flush();
  for (let i = 95000; i < 100000; i++) assert.equal(t.get(0, "k" + (i % 5000)), i);
});

test("one cache for two keyed operators: each one's state and timers in its own tables, checkpointed in parts and restored apart", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  const first = new TimerService(), second = new TimerService();
  tables.trackTimers(1, first);
  tables.trackTimers(3, second);
  tables.trackTimers(3, second);  // tracked once
  tables.table(0).put(4, "a", { n: 1 });
  tables.table(2).put(4, "a", { n: 2 });
  first.registerEventTimeTimer(10, 4, "a", "a", "w");
  second.registerEventTimeTimer(20, 4, "a", "a", "w");
  second.registerProcessingTimeTimer(30, 5, "b", "b", "");
  native.freeze();
  tables.beginSnapshot();
  // After the barrier: changes the checkpoint must not see.
  tables.table(2).put(4, "a", { n: 3 });
  first.registerEventTimeTimer(11, 4, "late", "late", "w");
  second.advanceWatermark(25, () => {});
  while (!tables.continueSnapshot(1)) {}
  const image = native.image();
  native.thaw();
  const inTable = (table) => [...image].filter(([id]) => id.startsWith(table + "|")).map(([id]) => id).sort();
  assert.deepEqual(inTable(0), ["0|4|a"]);
  assert.equal(image.get("2|4|a"), JSON.stringify({ n: 2 }));
  assert.equal(inTable(1).length, 1, "the first operator's one timer at the barrier");
  assert.equal(inTable(3).length, 2, "the second operator's two timers at the barrier");

  const restoredNative = new FakeNative();
  restoredNative.store = new Map(image);
  const after = new StateTables(restoredNative);
  const first2 = new TimerService(), second2 = new TimerService();
  after.restoreTimers(1, first2, 128);
  after.restoreTimers(3, second2, 128);
  assert.deepEqual(drain(first2), ["a@10/w"]);
  assert.deepEqual(drain(second2), ["a@20/w", "b@30/"]);
  assert.deepEqual(after.table(0).get(4, "a"), { n: 1 });
  assert.deepEqual(after.table(2).get(4, "a"), { n: 2 });

  // The next checkpoint writes what changed since, each operator's in its own tables.
  tables.snapshot();
  assert.equal(native.stored(2, 4, "a").n, 3);
  assert.equal([...native.store.keys()].filter((id) => id.startsWith("1|")).length, 2);
  assert.equal([...native.store.keys()].filter((id) => id.startsWith("3|")).length, 1,
               "the fired timer deleted");
});

// windows.js's fast path changes a dirty entry's value object in place instead of get() and
// put(): dirtyEntry hands out only entries for which that is what get() and put() would do.
test("dirtyEntry: a dirty entry changed in place is what get and put make of it; a checkpoint's " +
     "frozen entries are not handed out", () => {
  const native = new FakeNative();
  native.store.set("0|0|stored", JSON.stringify({ n: 7 }));
  const tables = new StateTables(native, { cacheEntries: 100 });
  const t = tables.table(0);
  t.put(0, "a", { n: 1 });
  const entry = t.dirtyEntry(0, "a");
  assert.notEqual(entry, undefined);
  assert.equal(tables.stats().hits, 1, "counted as get() counts it");
  entry.value.n = 2;
  assert.equal(t.dirtyEntry(0, "b"), undefined, "not cached");
  assert.equal(t.dirtyEntry(1, "a"), undefined, "another key group");
  assert.deepEqual(t.get(0, "stored"), { n: 7 });
  assert.equal(t.dirtyEntry(0, "stored"), undefined, "clean: a put must mark it dirty");
  // At a checkpoint's barrier the entry belongs to the frozen generation: not handed out until
  // get() saved its value for the checkpoint and put() made it dirty again.
  native.freeze();
  tables.beginSnapshot();
  assert.equal(t.dirtyEntry(0, "a"), undefined, "frozen");
  const value = t.get(0, "a");
  value.n = 3;
  t.put(0, "a", value);
  const again = t.dirtyEntry(0, "a");
  assert.notEqual(again, undefined);
  again.value.n = 4;
  assert.equal(tables.continueSnapshot(Infinity), true);
  assert.equal(native.image().get("0|0|a"), JSON.stringify({ n: 2 }), "the value at the barrier");
  native.thaw();
  tables.flush();
  assert.deepEqual(native.stored(0, 0, "a"), { n: 4 });
});
