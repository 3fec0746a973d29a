// A fake of the `native` object state.js writes through (v8_state_binding.cc), and a
// deterministic random generator: shared by state.test.mjs and state_fresh.test.mjs.
import assert from "node:assert/strict";

// The native side as v8_state_binding.cc gives it, over a Map, recording every call.
export class FakeNative {
  constructor() {
    this.store = new Map();  // "table|keyGroup|key" -> JSON text
    this.gets = [];
    this.writeCalls = [];
    this.failWrites = false;
  }
  static id(table, keyGroup, key) {
    return table + "|" + keyGroup + "|" + key;
  }
  get(table, keyGroup, key) {
    this.gets.push([table, keyGroup, key]);
    const id = FakeNative.id(table, keyGroup, key);
    for (const map of [this.kept, this.layer]) {
      if (map !== undefined && map.has(id)) return map.get(id) ?? undefined;
    }
    return this.store.get(id);
  }
  write(flat) {
    if (this.failWrites) throw new Error("state backend at /tmp/x: disk full");
    assert.equal(flat.length % 4, 0);
    const call = [];
    for (let i = 0; i < flat.length; i += 4) {
      const [table, keyGroup, key, value] = flat.slice(i, i + 4);
      assert.equal(typeof table, "number");
      assert.equal(typeof keyGroup, "number");
      assert.equal(typeof key, "string");
      assert.ok(value === null || typeof value === "string");
      call.push([table, keyGroup, key, value]);
      const id = FakeNative.id(table, keyGroup, key);
      if (this.kept !== undefined) this.kept.set(id, value);
      else if (value === null) this.store.delete(id);
      else this.store.set(id, value);
    }
    this.writeCalls.push(call);
  }
  stored(table, keyGroup, key) {
    const text = this.store.get(FakeNative.id(table, keyGroup, key));
    return text === undefined ? undefined : JSON.parse(text);
  }
  // A checkpoint as RocksStateBackend takes one: freeze() at the barrier, then write() is kept
  // apart (read back first) and writeSnapshot() adds to the checkpoint's layer; image() is the
  // checkpoint (the store with the layer), thaw() applies the layer, then the kept writes.
  freeze() {
    this.layer = new Map();
    this.kept = new Map();
  }
  image() {
    const image = new Map(this.store);
    for (const [id, value] of this.layer) {
      if (value === null) image.delete(id);
      else image.set(id, value);
    }
    return image;
  }
  thaw() {
    for (const map of [this.layer, this.kept]) {
      for (const [id, value] of map) {
        if (value === null) this.store.delete(id);
        else this.store.set(id, value);
      }
    }
    this.layer = this.kept = undefined;
  }
  writeSnapshot(flat) {
    assert.equal(flat.length % 4, 0);
    this.snapshotCalls = (this.snapshotCalls ?? 0) + 1;
    (this.snapshotEntries ??= []).push(flat.length / 4);
    for (let i = 0; i < flat.length; i += 4) {
      const [table, keyGroup, key, value] = flat.slice(i, i + 4);
      assert.ok(value === null || typeof value === "string");
      const id = FakeNative.id(table, keyGroup, key);
      if (this.layer === undefined) {
        if (value === null) this.store.delete(id);
        else this.store.set(id, value);
      } else {
        this.layer.set(id, value);
      }
    }
  }
  scan(table) {
    const out = [];
    for (const [id, value] of this.store) {
      const [t, keyGroup, ...key] = id.split("|");
      if (Number(t) === table) out.push(Number(keyGroup), key.join("|"), value);
    }
    return out;
  }
}

// A tiny deterministic generator (tests must repeat).
export function random(seed) {
  let x = seed >>> 0;
  return (n) => {
    x = (x * 1664525 + 1013904223) >>> 0;
    return Math.floor((x / 4294967296) * n);
  };
}
