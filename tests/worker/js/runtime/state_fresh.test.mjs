// StateTables (worker/js/runtime/state.js) with a fresh backend (one that holds nothing yet:
// only keys the cache wrote are read back), and its one lookup per access.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { FakeNative, random } from "./state_fake.mjs";

const source = readFileSync(new URL("../../../../worker/js/runtime/state.js", import.meta.url),
                            "utf8");
const { StateTables } = vm.runInThisContext(source, { filename: "state.js" });

test("a key string under two key groups is two keys, also after the entry found last leaves", () => {
  for (const native of [null, new FakeNative()]) {
    const tables = new StateTables(native, { cacheEntries: 3 });  // evicts 1 at a time
    const t = tables.table(0);
    t.put(1, "k", "one");
    t.put(2, "k", "two");
    assert.equal(t.get(1, "k"), "one");
    assert.equal(t.get(2, "k"), "two");
    t.put(1, "k", "uno");  // right after a get of the other key group's
    assert.equal(t.get(2, "k"), "two");
    assert.equal(t.get(1, "k"), "uno");
    t.delete(2, "k");
    assert.equal(t.get(1, "k"), "uno");
    assert.equal(t.get(2, "k"), undefined);
    // The entry found last is evicted: the next access finds what the backend has.
    t.put(3, "x", 1);
    t.put(4, "y", 2);
    t.put(5, "z", 3);
    assert.equal(t.get(1, "k"), "uno");
    assert.equal(t.get(2, "k"), undefined);
  }
});

test("a fresh backend is read only for keys the cache wrote to it", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 8, fresh: true });  // evicts 1 at a time
  const t = tables.table(0);
  // New keys: not read, whether got, put blind or deleted blind.
  assert.equal(t.get(0, "a"), undefined);
  t.put(0, "a", 1);
  t.put(0, "b", 2);
  t.delete(0, "c");
  assert.deepEqual(native.gets, []);
  // A deletion of a key the backend cannot hold writes nothing, even unread.
  t.delete(0, "b");
  tables.flush();
  assert.deepEqual(native.writeCalls, [[[0, 0, "a", "1"]]]);
  // Evicted with a value: read back; evicted while known absent: not read.
  for (let i = 0; i < 20; i++) t.put(0, "k" + i, i);
  assert.equal(t.get(0, "a"), 1);
  assert.equal(t.get(0, "b"), undefined);
  assert.equal(t.get(0, "c"), undefined);
  assert.equal(t.get(0, "k0"), 0);
  assert.equal(t.get(0, "k0", 1), 0);
  assert.deepEqual(native.gets, [[0, 0, "a"], [0, 0, "k0"]]);
  // The same key string under another key group: the backend holds only the first.
  assert.equal(t.get(1, "k1"), undefined);
  assert.equal(t.get(0, "k1"), 1);
  assert.deepEqual(native.gets.slice(2), [[0, 0, "k1"]]);
  assert.equal(tables.stats().reads, 3);
  // Not fresh: every miss reads.
  const other = new StateTables(native, { cacheEntries: 8 }).table(0);
  assert.equal(other.get(0, "new"), undefined);
  assert.equal(native.gets.length, 4);
});

test("a fresh backend's cache gives every value back (random operations, checkpoints, two key groups)", () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    const rnd = random(seed);
    const native = new FakeNative();
    const tables = new StateTables(native, { cacheEntries: 30, fresh: true });
    const t = tables.table(0);
    const model = new Map();  // "keyGroup|key" -> JSON text
    const step = () => {
      const k = "k" + rnd(120), kg = rnd(6) === 0 ? 99 : k.length;
      const id = kg + "|" + k;
      const op = rnd(10);
      if (op < 4) {
        const v = t.get(kg, k) ?? { n: 0 };
        v.n++;
        t.put(kg, k, v);
        model.set(id, JSON.stringify(v));
      } else if (op < 5) {
        t.put(kg, k, { blind: rnd(100) });
        model.set(id, JSON.stringify(t.get(kg, k)));
      } else if (op < 7) {
        t.delete(kg, k);
        model.delete(id);
      } else {
        assert.equal(JSON.stringify(t.get(kg, k)), model.get(id), `seed ${seed}, ${id}`);
      }
    };
    for (let round = 0; round < 40; round++) {
      for (let i = rnd(200); i > 0; i--) step();
      if (round % 3 === 0) tables.flush();
      native.freeze();
      tables.beginSnapshot();
      while (!tables.continueSnapshot(1 + rnd(8))) for (let i = rnd(30); i > 0; i--) step();
      native.thaw();
    }
    tables.flush();
    for (const [id, text] of model) {
      const [kg, k] = id.split("|");
      assert.equal(native.store.get("0|" + id), text, `seed ${seed}, ${kg} ${k}`);
    }
    const stats = tables.stats();
    assert.ok(stats.reads < stats.misses, JSON.stringify(stats));  // (most keys get written)
  }
});

test("a fresh table forgets what the backend may hold once that outgrows the cache", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 1, fresh: true });
  const t = tables.table(0);
  for (let i = 0; i < 1100; i++) t.put(0, "k" + i, i);  // 1,099 evicted with a value
  assert.equal(t.held, null);
  assert.equal(t.get(0, "k0"), 0);
  assert.equal(t.get(0, "never"), undefined);
  assert.deepEqual(native.gets, [[0, 0, "k0"], [0, 0, "never"]]);
});

test("a fresh table drops keys that lived and died in the cache at once; the queue stays bounded", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100, fresh: true });
  const t = tables.table(0);
  for (let i = 0; i < 50000; i++) {
    assert.equal(t.get(0, "w" + i), undefined);
    t.put(0, "w" + i, [i]);
    if (i >= 10) t.delete(0, "w" + (i - 10));  // ten windows open at a time
  }
  assert.equal(tables.stats().entries, 10);
  assert.equal(tables.stats().evictions, 0);
  assert.ok(tables.queue.length - tables.head <= 2 * 10 + 1024, String(tables.queue.length));
  assert.equal(t.get(0, "w5"), undefined);
  assert.deepEqual(t.get(0, "w49999"), [49999]);
  assert.deepEqual(native.gets, []);
  assert.deepEqual(native.writeCalls, []);
  // Evictions skip the dropped entries' places and still take the oldest live ones.
  for (let i = 0; i < 300; i++) t.put(1, "k" + i, i);
  tables.flush();
  for (let i = 0; i < 300; i++) assert.equal(t.get(1, "k" + i), i);
  assert.ok(tables.stats().reads >= 200);  // the evicted ones, read back
});

test("a fresh table drops a deleted key's entry once the deletion is in a checkpoint", () => {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100, fresh: true });
  const t = tables.table(0);
  const checkpoint = () => {
    native.freeze();
    tables.beginSnapshot();
    while (!tables.continueSnapshot(3)) {}
    native.thaw();
  };
  for (let i = 0; i < 10; i++) t.put(0, "w" + i, [i]);
  checkpoint();  // the ten keys are in the backend now
  for (let i = 0; i < 10; i++) t.delete(0, "w" + i);
  t.put(0, "open", [1]);
  // Pending deletions stay cached until a checkpoint writes them...
  assert.equal(tables.stats().entries, 11);
  checkpoint();
  // ...then only the live key is.
  assert.equal(tables.stats().entries, 1);
  for (let i = 0; i < 10; i++) assert.equal(native.stored(0, 0, "w" + i), undefined);
  for (let i = 0; i < 10; i++) assert.equal(t.get(0, "w" + i), undefined);
  assert.deepEqual(native.gets, []);  // known absent without a read
  assert.deepEqual(t.get(0, "open"), [1]);
  // A key deleted and put again before the checkpoint keeps its new value.
  t.put(0, "w0", [2]);
  checkpoint();
  t.delete(0, "w0");
  t.put(0, "w0", [3]);
  checkpoint();
  assert.deepEqual(t.get(0, "w0"), [3]);
  assert.deepEqual(native.stored(0, 0, "w0"), [3]);
});
