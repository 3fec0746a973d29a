// Keyed state of a task's stateful operators (ctx.state, see README.md "Keyed operators"): a
// cache of live values in the isolate in front of the task's state backend (RocksDB, through the
// `native` object of v8_state_binding.cc). A table is one stateful operator; its entries are
// (key group, key string) -> a JSON value.
//
// The cache holds the values themselves: get() returns the cached object, an operator that
// changes it put()s it again, which marks it dirty. A hit is two Map lookups (key group, then key
// string; no key is built). A miss asks the backend once (JSON.parse of its text) and caches the
// answer, also "absent", so a new key costs one backend read. Entries are evicted oldest-inserted
// first (a FIFO of entries; hits and puts do not reorder anything), a chunk at a time when the
// cache over all tables is full: the dirty ones among them (JSON.stringify, or null for a
// deletion) go to the backend in one native.write call. A deleted entry stays in the cache as a
// pending deletion until it is written, and as a known absence after that. flush() writes every
// dirty entry. An entry also knows whether the backend may hold its key (`stored`: read from it
// with a value, or written with one, or unknown because it was put or deleted without a read):
// deleting a key the backend cannot hold — one that lived and died in the cache, as most
// windows' keys do — leaves a known absence, with nothing to write.
//
// Checkpoints: snapshot(timerTable, timers) writes a keyed operator's timers (timers.js) to a
// table of their own, one entry per key group (key "", the JSON list of the key group's timers;
// a key group whose timers are all gone since the last snapshot gets a deletion), in one native
// call, then flushes: the backend then holds everything and can be checkpointed.
// restoreTimers(timerTable, timers, maxParallelism) reads them back in a task restored from a
// checkpoint (its backend holds only its own key groups).
//
// native: { get(table, keyGroup, key) -> JSON text or undefined,
//           write([table, keyGroup, key, JSON text or null, ...]) }, or null for no backend: a
// plain in-memory store that evicts nothing.
//
// The script's completion value is a frozen object { StateTables }.
(function () {
  "use strict";

  const DEFAULT_CACHE_ENTRIES = 100000;

  function describeKey(keyGroup, keyString) {
    return "key " + JSON.stringify(keyString) + " (key group " + keyGroup + ")";
  }

  class StateTable {
    constructor(owner, index) {
      this.owner = owner;
      this.index = index;
      this.groups = new Map();  // key group -> Map(key string -> entry)
    }

    // The value of the key, or undefined.
    get(keyGroup, keyString) {
      const group = this.groups.get(keyGroup);
      if (group !== undefined) {
        const entry = group.get(keyString);
        if (entry !== undefined) {
          this.owner.hits++;
          return entry.value;
        }
      }
      return this.owner.load(this, keyGroup, keyString);
    }

    put(keyGroup, keyString, value) {
      if (value === undefined) {
        throw new TypeError("state table " + this.index + ": put of undefined for " +
            describeKey(keyGroup, keyString) + " (delete() removes a key)");
      }
      const entry = this.find(keyGroup, keyString);
      if (entry !== undefined) {
        entry.value = value;
        entry.dirty = true;
      } else {
        this.owner.insert(this, keyGroup, keyString, value, true);
      }
    }

    delete(keyGroup, keyString) {
      const entry = this.find(keyGroup, keyString);
      if (this.owner.native === null) {
        if (entry !== undefined) this.owner.remove(entry);
      } else if (entry === undefined) {
        this.owner.insert(this, keyGroup, keyString, undefined, true);
      } else if (!entry.stored) {
        entry.value = undefined;  // the backend has no such key: known absent, nothing to write
        entry.dirty = false;
      } else if (entry.value !== undefined || entry.dirty) {
        entry.value = undefined;
        entry.dirty = true;
      }  // else known to be absent from the backend: nothing to delete
    }

    find(keyGroup, keyString) {
      const group = this.groups.get(keyGroup);
      return group === undefined ? undefined : group.get(keyString);
    }
  }

  class StateTables {
    constructor(native, { cacheEntries = DEFAULT_CACHE_ENTRIES } = {}) {
      if (!Number.isInteger(cacheEntries) || cacheEntries < 1) {
        throw new RangeError("state cacheEntries must be a positive integer, not " +
            String(cacheEntries));
      }
      this.native = native;
      this.capacity = cacheEntries;
      // Evicting an eighth at a time keeps native calls rare and most of the cache warm.
      this.chunk = Math.max(1, Math.ceil(cacheEntries / 8));
      this.tables = [];
      // Every cached entry in insertion order, from queue[head] on (only with a backend).
      this.queue = [];
      this.head = 0;
      this.size = 0;
      this.hits = 0;
      this.misses = 0;
      this.evictions = 0;
      this.writes = 0;
      // The key groups with an entry in the timer table: written by the last snapshot, or read
      // by restoreTimers.
      this.timerGroups = new Set();
    }

    table(index) {
      if (!Number.isInteger(index) || index < 0) {
        throw new RangeError("state table index must be a non-negative integer, not " +
            String(index));
      }
      let table = this.tables[index];
      if (table === undefined) {
        while (this.tables.length < index) this.tables.push(undefined);
        table = new StateTable(this, index);
        this.tables[index] = table;
      }
      return table;
    }

    // Writes every dirty entry and pending deletion to the backend, in one native call.
    flush() {
      if (this.native === null) return;
      const queue = this.queue;
      const dirty = [];
      for (let i = this.head; i < queue.length; i++) {
        if (queue[i].dirty) dirty.push(queue[i]);
      }
      this.write(dirty);
      for (const entry of dirty) entry.dirty = false;
    }

    // Writes `timers` (a TimerService) to table `timerTable` and flushes the cache.
    snapshot(timerTable, timers) {
      if (this.native === null) return;
      const groups = timers.snapshotByKeyGroup();
      const flat = [];
      for (const [keyGroup, runs] of groups) {
        flat.push(timerTable, keyGroup, "", stringifyTimers(timerTable, keyGroup, runs));
      }
      for (const keyGroup of this.timerGroups) {
        if (!groups.has(keyGroup)) flat.push(timerTable, keyGroup, "", null);
      }
      if (flat.length !== 0) this.native.write(flat);
      this.timerGroups = new Set(groups.keys());
      this.flush();
    }

    // Registers in `timers` what table `timerTable` holds for key groups 0..maxParallelism-1.
    restoreTimers(timerTable, timers, maxParallelism) {
      if (this.native === null) return;
      const entries = [];
      for (let keyGroup = 0; keyGroup < maxParallelism; keyGroup++) {
        const text = this.native.get(timerTable, keyGroup, "");
        if (text === undefined) continue;
        const runs = parseStored({ index: timerTable }, keyGroup, "", text);
        if (!Array.isArray(runs)) {
          throw new TypeError("state table " + timerTable + ": the timers of key group " +
              keyGroup + " are not a list");
        }
        entries.push([keyGroup, runs]);
        this.timerGroups.add(keyGroup);
      }
      timers.restore(entries);
    }

    stats() {
      return { entries: this.size, hits: this.hits, misses: this.misses,
               evictions: this.evictions, writes: this.writes };
    }

    // A miss: what the backend has (cached, also when it has nothing).
    load(table, keyGroup, keyString) {
      this.misses++;
      if (this.native === null) return undefined;
      const text = this.native.get(table.index, keyGroup, keyString);
      const value = text === undefined ? undefined : parseStored(table, keyGroup, keyString, text);
      this.insert(table, keyGroup, keyString, value, false).stored = value !== undefined;
      return value;
    }

    insert(table, keyGroup, keyString, value, dirty) {
      if (this.native !== null && this.size >= this.capacity) this.evict();
      let group = table.groups.get(keyGroup);
      if (group === undefined) {
        group = new Map();
        table.groups.set(keyGroup, group);
      }
      // stored: whether the backend may hold the key (see the top); load() sets what it read.
      const entry = { index: table.index, keyGroup, key: keyString, value, dirty, group,
                      stored: true };
      group.set(keyString, entry);
      this.size++;
      if (this.native !== null) this.queue.push(entry);
      return entry;
    }

    remove(entry) {
      entry.group.delete(entry.key);
      this.size--;
    }

    // Drops the oldest chunk of entries, writing the dirty ones first: if the write fails,
    // nothing is dropped.
    evict() {
      const queue = this.queue;
      const from = this.head;
      const to = from + Math.min(this.chunk, this.size);
      const dirty = [];
      for (let i = from; i < to; i++) {
        if (queue[i].dirty) dirty.push(queue[i]);
      }
      this.write(dirty);
      for (let i = from; i < to; i++) {
        this.remove(queue[i]);
        queue[i] = undefined;
      }
      this.evictions += to - from;
      this.head = to;
      if (to >= 1024 && 2 * to >= queue.length) {
        this.queue = queue.slice(to);
        this.head = 0;
      }
    }

    write(entries) {
      if (entries.length === 0) return;
      const flat = new Array(4 * entries.length);
      let n = 0;
      for (const entry of entries) {
        flat[n++] = entry.index;
        flat[n++] = entry.keyGroup;
        flat[n++] = entry.key;
        flat[n++] = entry.value === undefined ? null : stringifyStored(entry);
      }
      this.native.write(flat);
      this.writes += entries.length;
      for (const entry of entries) entry.stored = entry.value !== undefined;
    }
  }

  function parseStored(table, keyGroup, keyString, text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error("state table " + table.index + ": the stored value of " +
          describeKey(keyGroup, keyString) + " is not JSON (" + e.message + ")");
    }
  }

  function stringifyTimers(timerTable, keyGroup, runs) {
    try {
      return JSON.stringify(runs);
    } catch (e) {
      throw new TypeError("state table " + timerTable + ": the timers of key group " + keyGroup +
          " cannot be stored as JSON (" + e.message + "; a key must be a JSON value)");
    }
  }

  function stringifyStored(entry) {
    const text = JSON.stringify(entry.value);
    if (typeof text !== "string") {
      throw new TypeError("state table " + entry.index + ": the value of " +
          describeKey(entry.keyGroup, entry.key) + " cannot be stored as JSON (a " +
          typeof entry.value + ")");
    }
    return text;
  }

  return Object.freeze({ StateTables });
})();
