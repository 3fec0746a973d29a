// Keyed state of a task's stateful operators (ctx.state, see README.md "Keyed operators"): a
// cache of live values in the isolate in front of the task's state backend (RocksDB, through the
// `native` object of v8_state_binding.cc). A table is one stateful operator; its entries are
// (key group, key string) -> a JSON value.
//
// The cache holds the values themselves: get() returns the cached object, an operator that changes
// it put()s it again, which marks it dirty. A table finds an entry with one Map lookup by key
// string (the entries of one key string under other key groups, which keyed operators do not make,
// hang off it in a list) and remembers the entry it touched last, so the put() (or delete()) that
// follows a get() of the same key — what every operator does per record — finds it without a
// lookup. A miss asks the backend once (JSON.parse of its text) and caches the answer, also
// "absent", so a new key costs at most one backend read. Entries are evicted oldest-inserted first
// (a FIFO of entries; hits and puts do not reorder anything), a chunk at a time when the cache over
// all tables is full: the dirty ones among them (JSON.stringify, or null for a deletion) go to the
// backend in one native.write call. A deleted entry stays in the cache as a pending deletion until
// it is written, and as a known absence after that (a fresh table's goes once a checkpoint wrote
// its deletion). flush() writes every dirty entry. An entry also knows whether the backend may hold
// its key (`stored`: read from it with a value, or written with one, or unknown because it was put
// or deleted without a read): deleting a key the backend cannot hold — one that lived and died in
// the cache, as most windows' keys do — leaves a known absence, with nothing to write.
//
// A fresh backend (option `fresh`: it holds nothing yet, as a task's that restored nothing; the
// chain runner checks) is not asked for keys it cannot hold: each table keeps, of the keys not
// in the cache, those the backend may hold (`held`: the keys of entries that left the cache with
// `stored`), and a miss of any other key is a known absence without a read. This holds because
// a key reaches the backend only through this cache (write and writeSnapshot), and an entry's
// `stored` is false only when the backend has nothing for its key (see delete()). Such a table
// drops a deleted key the backend cannot hold at once rather than keep its known absence: a
// miss knows it. If `held` grows past a few times the cache's size, the table stops keeping it
// and reads every miss, as a table of a backend that was not fresh does.
//
// Checkpoints are copy-on-write, so that their synchronous part does not depend on the state's
// size. Every entry made dirty is listed in the current generation's dirty list. beginSnapshot()
// (at the barrier, with the backend frozen) makes that list the frozen generation and starts a new
// one, and freezes the timers' changes (timers.js); nothing is serialised. continueSnapshot(budget)
// then writes up to `budget` frozen entries and timer changes as they were at the barrier through
// native.writeSnapshot (the checkpoint's layer; the backend keeps later native.write calls apart
// from it), between batches, and returns true when all are out. An entry of the frozen generation
// not written yet is written first when it is read (get returns the object an operator may change),
// put, deleted or evicted, so the checkpoint always gets its value at the barrier.
// snapshot(timerTable, timers) does both at once (the timers given, if not tracked yet, and all
// tracked ones). abortSnapshot() gives a failed checkpoint up (what it did not write is dirty
// again). A keyed operator's timers live in a table of their own, one entry per timer; only the
// timers registered or gone since the last checkpoint are written. One cache may serve several
// keyed operators (a task whose chain holds several): each has its own state table and its own
// timers in a table of their own (trackTimers once per operator). restoreTimers(timerTable, timers,
// maxParallelism) reads them back in a task restored from a checkpoint (its backend holds only its
// own key groups), also the older format (one entry per key group, key "", the JSON list of its
// timers), which the next checkpoint replaces.
//
// native: { get(table, keyGroup, key) -> JSON text or undefined,
//           write([table, keyGroup, key, JSON text or null, ...]),
//           writeSnapshot([...the same]), scan(table) -> [keyGroup, key, JSON text, ...] },
// or null for no backend: a plain in-memory store that evicts nothing.
//
// The script's completion value is a frozen object { StateTables }.
(function () {
  "use strict";

  const DEFAULT_CACHE_ENTRIES = 100000;

  function describeKey(keyGroup, keyString) {
    return "key " + JSON.stringify(keyString) + " (key group " + keyGroup + ")";
  }

  // A fresh table's `held` value for a key string held under several key groups.
  const SEVERAL = -1;

  class StateTable {
    constructor(owner, index, fresh) {
      this.owner = owner;
      this.index = index;
      // key string -> entry (entry.next: the key string's entry under another key group)
      this.entries = new Map();
      this.last = null;  // the entry found last (null when it left the cache)
      // Fresh backends (see the top): key string -> the key group (or SEVERAL) under which the
      // backend may hold it, for keys not in the cache; null: the backend may hold any key.
      this.held = fresh ? new Map() : null;
    }

    // The value of the key, or undefined.
    get(keyGroup, keyString) {
      const entry = this.find(keyGroup, keyString);
      if (entry !== undefined) {
        const owner = this.owner;
        owner.hits++;
        if (entry.dirty === true && entry.gen === owner.frozenGen) owner.saveFrozen(entry);
        return entry.value;
      }
      return this.owner.load(this, keyGroup, keyString);
    }

    // The cached entry of the key if it is dirty and not part of a checkpoint being written, so
    // that changing its value object in place is what get() and put() of it would do (both only
    // count a hit and keep the value); else undefined, and the caller uses get() and put().
    dirtyEntry(keyGroup, keyString) {
      const entry = this.find(keyGroup, keyString);
      if (entry === undefined || entry.dirty !== true) return undefined;
      const owner = this.owner;
      if (entry.gen === owner.frozenGen) return undefined;
      owner.hits++;
      return entry;
    }

    put(keyGroup, keyString, value) {
      if (value === undefined) {
        throw new TypeError("state table " + this.index + ": put of undefined for " +
            describeKey(keyGroup, keyString) + " (delete() removes a key)");
      }
      const entry = this.find(keyGroup, keyString);
      if (entry !== undefined) {
        const owner = this.owner;
        if (entry.dirty === true) {
          if (entry.gen === owner.frozenGen) owner.saveFrozen(entry);
          else {
            entry.value = value;
            return;
          }
        }
        entry.value = value;
        owner.markDirty(entry);
      } else {
        this.owner.insert(this, keyGroup, keyString, value, true,
                          this.mayHold(keyGroup, keyString));
      }
    }

    delete(keyGroup, keyString) {
      const entry = this.find(keyGroup, keyString);
      const owner = this.owner;
      if (owner.native === null) {
        if (entry !== undefined) owner.remove(entry);
        return;
      }
      if (entry === undefined) {
        if (this.mayHold(keyGroup, keyString)) {
          owner.insert(this, keyGroup, keyString, undefined, true, true);  // a pending deletion
        } else {
          owner.insert(this, keyGroup, keyString, undefined, false, false);  // known absent
        }
        return;
      }
      if (entry.dirty && entry.gen === owner.frozenGen) owner.saveFrozen(entry);
      if (!entry.stored) {
        entry.value = undefined;  // the backend has no such key: known absent, nothing to write
        entry.dirty = false;      // (a stale place in a dirty list is skipped)
        if (this.held !== null) owner.drop(entry);  // a fresh table knows that without it
      } else if (entry.value !== undefined || entry.dirty) {
        entry.value = undefined;
        if (!entry.dirty) owner.markDirty(entry);
      }  // else known to be absent from the backend: nothing to delete
    }

    // The cached entry of the key, or undefined. The key group first: comparing two key strings
    // that are not the same object reads both (and most often another key's string is as long).
    find(keyGroup, keyString) {
      const last = this.last;
      if (last !== null && last.keyGroup === keyGroup && last.key === keyString) return last;
      let entry = this.entries.get(keyString);
      while (entry !== undefined && entry.keyGroup !== keyGroup) entry = entry.next;
      if (entry !== undefined) this.last = entry;
      return entry;
    }

    // Whether the backend may hold a key that is not in the cache.
    mayHold(keyGroup, keyString) {
      const held = this.held;
      if (held === null) return true;
      const group = held.get(keyString);
      return group === keyGroup || group === SEVERAL;
    }

    // The key's entry was made: from now on its `stored` knows what `held` knew.
    entered(keyGroup, keyString) {
      const held = this.held;
      if (held !== null && held.size !== 0 && held.get(keyString) === keyGroup) {
        held.delete(keyString);
      }
    }

    // An entry left the cache: remember whether the backend may hold its key.
    left(entry) {
      const held = this.held;
      if (held === null) return;
      const group = held.get(entry.key);
      if (entry.stored) {
        if (group === undefined) {
          held.set(entry.key, entry.keyGroup);
          if (held.size > this.owner.heldLimit) this.held = null;  // see the top
        } else if (group !== entry.keyGroup) {
          held.set(entry.key, SEVERAL);
        }
      } else if (group === entry.keyGroup) {
        held.delete(entry.key);
      }
    }
  }

  class StateTables {
    // fresh: the backend holds nothing yet in the tables this cache serves (see the top; a
    // keyed operator's timer table is read by restoreTimers alone).
    constructor(native, { cacheEntries = DEFAULT_CACHE_ENTRIES, fresh = false } = {}) {
      if (!Number.isInteger(cacheEntries) || cacheEntries < 1) {
        throw new RangeError("state cacheEntries must be a positive integer, not " +
            String(cacheEntries));
      }
      this.native = native;
      this.capacity = cacheEntries;
      this.fresh = fresh === true && native !== null;
      this.heldLimit = 4 * cacheEntries + 1024;
      // Evicting an eighth at a time keeps native calls rare and most of the cache warm.
      this.chunk = Math.max(1, Math.ceil(cacheEntries / 8));
      this.tables = [];
      // Every cached entry in insertion order, from queue[head] on (only with a backend).
      this.queue = [];
      this.head = 0;
      this.size = 0;
      this.hits = 0;
      this.misses = 0;
      this.reads = 0;
      this.evictions = 0;
      this.writes = 0;
      // Copy-on-write checkpoints (see the top): the entries made dirty in generation `gen`
      // (an entry is dirty in the generation entry.gen; one no longer dirty, or dirty in a
      // later one, is skipped); the frozen generation's list, its number and the next place in
      // it (frozen null: none); the snapshot's entries not yet handed to the backend.
      // Dirty lists are emptied and reused, never made afresh: an empty array literal starts
      // with small-integer elements, and optimised code that pushes entries into it deoptimised
      // at the first push after every checkpoint ("not a Smi"; bench/RESULTS.md, issue 17).
      // dirtyList, gen and frozenGen, which a checkpoint changes and hot code reads, are stored
      // twice (README.md: fields V8 takes for constants).
      this.dirtyList = null;
      this.dirtyList = [];
      this.spareList = null;  // the last frozen list, emptied: the next beginSnapshot's
      this.stamp = 0;
      this.gen = 0;
      this.gen = 1;
      this.frozen = null;
      this.frozenGen = 0;
      this.frozenGen = -1;
      this.frozenAt = 0;
      this.out = [];
      // Per tracked TimerService: { table, timers, out: its changes being taken, groups: the key
      // groups with an entry of the older timer format (key ""), read by restoreTimers, which
      // the next snapshot deletes }.
      this.trackers = [];
    }

    table(index) {
      if (!Number.isInteger(index) || index < 0) {
        throw new RangeError("state table index must be a non-negative integer, not " +
            String(index));
      }
      let table = this.tables[index];
      if (table === undefined) {
        while (this.tables.length < index) this.tables.push(undefined);
        table = new StateTable(this, index, this.fresh);
        this.tables[index] = table;
      }
      return table;
    }

    // Writes every dirty entry and pending deletion to the backend (a snapshot in progress
    // first, all of it), in one native call.
    flush() {
      if (this.native === null) return;
      if (this.frozen !== null) this.continueSnapshot(Infinity);
      const dirty = [];
      const gen = this.gen;
      for (const entry of this.dirtyList) {
        if (entry.dirty && entry.gen === gen) dirty.push(entry);
      }
      this.write(dirty);
      for (const entry of dirty) entry.dirty = false;
      this.dirtyList.length = 0;
    }

    // Keeps `timers` (a TimerService) in table `timerTable`: checkpoints write their changes.
    trackTimers(timerTable, timers) {
      if (this.native === null) return;
      if (this.trackerOf(timers) !== undefined) return;
      this.trackers.push({ table: timerTable, timers, out: [], groups: new Set() });
      timers.trackChanges();
    }

    trackerOf(timers) {
      return this.trackers.find((t) => t.timers === timers);
    }

    // A checkpoint's synchronous part (see the top); the backend is frozen.
    beginSnapshot() {
      if (this.native === null) return;
      if (this.frozen !== null) {
        throw new Error("state: a checkpoint began before the last one's state was written");
      }
      this.frozen = this.dirtyList;
      this.frozenAt = 0;
      this.frozenGen = this.gen++;
      this.dirtyList = this.spareList !== null ? this.spareList : [];
      this.spareList = null;
      for (const t of this.trackers) t.timers.freezeChanges(t.out);
    }

    // Writes up to `budget` entries of the frozen generation (and as many timer changes) to the
    // checkpoint's layer; true when the checkpoint's state is all written.
    continueSnapshot(budget) {
      if (this.native === null || this.frozen === null) return true;
      const frozen = this.frozen, gen = this.frozenGen;
      let i = this.frozenAt;
      for (let n = 0; i < frozen.length && n < budget; i++) {
        const entry = frozen[i];
        if (entry.dirty && entry.gen === gen) {
          this.saveFrozen(entry);
          n++;
          // A deletion now in the checkpoint: a fresh table knows the key absent without it.
          if (entry.value === undefined && entry.table.held !== null) this.drop(entry);
        }
      }
      this.frozenAt = i;
      let done = i >= frozen.length;
      for (const t of this.trackers) {
        done = t.timers.takeFrozen(budget) && done;
        this.takeTimerOut(t);
      }
      for (const t of done ? this.trackers : []) {  // the older format's entries go
        for (const keyGroup of t.groups) this.out.push(t.table, keyGroup, "", null);
        t.groups.clear();
      }
      this.sendOut();
      if (done) {
        frozen.length = 0;
        this.spareList = frozen;
        this.frozen = null;
        this.frozenGen = -1;
      }
      return done;
    }

    // A checkpoint given up: the entries (and timers) it did not write are dirty again.
    abortSnapshot() {
      if (this.frozen === null) return;
      const gen = this.frozenGen;
      for (const entry of this.frozen) {
        if (entry.dirty && entry.gen === gen) {
          entry.gen = this.gen;
          this.dirtyList.push(entry);
        }
      }
      this.frozen = null;
      this.frozenGen = -1;
      for (const t of this.trackers) t.timers.abortFrozen();
      // What was taken already counts as written (clean, or stored): it must reach the backend
      // (still frozen; its thaw writes the layer). If the backend fails, out keeps it for the
      // next try.
      try {
        this.sendOut();
      } catch (e) {
        // the task fails with its backend's error; nothing is dropped here
      }
    }

    // The whole checkpoint at once: timers (tracked from now on) and every dirty entry.
    snapshot(timerTable, timers) {
      if (this.native === null) return;
      if (timers !== undefined) this.trackTimers(timerTable, timers);
      this.beginSnapshot();
      this.continueSnapshot(Infinity);
    }

    // An entry of the frozen generation, as it is (not changed since the barrier), to the
    // snapshot's entries.
    saveFrozen(entry) {
      this.out.push(entry.index, entry.keyGroup, entry.key,
                    entry.value === undefined ? null : stringifyStored(entry));
      entry.dirty = false;
      entry.stored = entry.value !== undefined;
    }

    takeTimerOut(tracker) {
      const from = tracker.out, out = this.out, table = tracker.table;
      for (let i = 0; i < from.length; i += 3) out.push(table, from[i], from[i + 1], from[i + 2]);
      from.length = 0;
    }

    sendOut() {
      for (const t of this.trackers) if (t.out.length !== 0) this.takeTimerOut(t);
      if (this.out.length === 0) return;
      this.native.writeSnapshot(this.out);  // (a failure keeps them for the next try)
      this.writes += this.out.length / 4;
      this.out = [];
    }

    markDirty(entry) {
      entry.dirty = true;
      entry.gen = this.gen;
      if (this.dirtyList.push(entry) > 2 * this.capacity + 1024) this.compactDirty();
    }

    // Without checkpoints nothing empties the dirty list, and evicted entries would stay in it:
    // keeps the entries still dirty, once each (amortised O(1) a mark).
    compactDirty() {
      const stamp = ++this.stamp, gen = this.gen, list = this.dirtyList;
      let n = 0;
      for (let i = 0; i < list.length; i++) {
        const entry = list[i];
        if (entry.dirty && entry.gen === gen && entry.stamp !== stamp) {
          entry.stamp = stamp;
          list[n++] = entry;
        }
      }
      list.length = n;
    }

    // Registers in `timers` what table `timerTable` holds for key groups 0..maxParallelism-1,
    // and keeps them in that table from now on (trackTimers).
    restoreTimers(timerTable, timers, maxParallelism) {
      if (this.native === null) return;
      const older = [], entries = [];
      if (typeof this.native.scan === "function") {
        const flat = this.native.scan(timerTable);
        for (let i = 0; i < flat.length; i += 3) {
          if (flat[i + 1] === "") older.push([flat[i], flat[i + 2]]);
          else entries.push([flat[i], flat[i + 1], flat[i + 2]]);
        }
      } else {
        for (let keyGroup = 0; keyGroup < maxParallelism; keyGroup++) {
          const text = this.native.get(timerTable, keyGroup, "");
          if (text !== undefined) older.push([keyGroup, text]);
        }
      }
      const runs = [];
      for (const [keyGroup, text] of older) {
        const list = parseStored({ index: timerTable }, keyGroup, "", text);
        if (!Array.isArray(list)) {
          throw new TypeError("state table " + timerTable + ": the timers of key group " +
              keyGroup + " are not a list");
        }
        runs.push([keyGroup, list]);
      }
      try {
        timers.restoreEntries(entries);
      } catch (e) {
        throw new TypeError("state table " + timerTable + ": " + e.message);
      }
      this.trackTimers(timerTable, timers);  // the older format's timers are changes: rewritten
      for (const [keyGroup] of runs) this.trackerOf(timers).groups.add(keyGroup);
      timers.restore(runs);
    }

    stats() {
      return { entries: this.size, hits: this.hits, misses: this.misses, reads: this.reads,
               evictions: this.evictions, writes: this.writes };
    }

    // A miss: what the backend has (cached, also when it has nothing).
    load(table, keyGroup, keyString) {
      this.misses++;
      if (this.native === null) return undefined;
      let value;
      if (table.mayHold(keyGroup, keyString)) {
        this.reads++;
        const text = this.native.get(table.index, keyGroup, keyString);
        if (text !== undefined) value = parseStored(table, keyGroup, keyString, text);
      }
      this.insert(table, keyGroup, keyString, value, false, value !== undefined);
      return value;
    }

    // stored: whether the backend may hold the key (see the top).
    insert(table, keyGroup, keyString, value, dirty, stored) {
      if (this.native !== null && this.size >= this.capacity) this.evict();
      // (`dirty` is always true or false: get and put test it with `=== true`, one comparison
      // where V8 would otherwise test a field it knows nothing of for every falsy value.)
      // (`table` and `stored` are null in the literal and set after: see README.md on fields
      // V8 takes for constants.)
      const entry = { index: table.index, keyGroup, key: keyString, value, dirty: false,
                      table: null, next: undefined, stored: null, gen: 0, stamp: 0 };
      entry.table = table;
      entry.stored = stored;
      const entries = table.entries;
      entry.next = entries.get(keyString);  // the key string under other key groups, if any
      entries.set(keyString, entry);
      table.last = entry;
      this.size++;
      if (this.native !== null) {
        table.entered(keyGroup, keyString);
        this.queue.push(entry);
        if (dirty) this.markDirty(entry);
      }
      return entry;
    }

    remove(entry) {
      const table = entry.table, entries = table.entries;
      const first = entries.get(entry.key);
      if (first === entry) {
        if (entry.next === undefined) entries.delete(entry.key);
        else entries.set(entry.key, entry.next);
      } else {
        let e = first;
        while (e.next !== entry) e = e.next;
        e.next = entry.next;
      }
      entry.next = undefined;
      if (table.last === entry) table.last = null;
      this.size--;
      if (this.native !== null) table.left(entry);
      entry.table = null;  // gone (the queue skips it)
    }

    // Removes an entry before its turn in the queue (a fresh table's known absence), which
    // drops such places now and then.
    drop(entry) {
      this.remove(entry);
      const queue = this.queue;
      if (queue.length - this.head > 2 * this.size + 1024) {
        // (In place: `queue` stays one array, see README.md on fields V8 takes for constants.)
        let n = 0;
        for (let i = this.head; i < queue.length; i++) {
          if (queue[i].table !== null) queue[n++] = queue[i];
        }
        queue.length = n;
        this.head = 0;
      }
    }

    // Drops the oldest chunk of entries, writing the dirty ones first (those of a checkpoint's
    // frozen generation to its layer, with every snapshot entry not handed over yet, so that a
    // later miss finds them): if a write fails, nothing is dropped.
    evict() {
      const queue = this.queue;
      const from = this.head;
      const count = Math.min(this.chunk, this.size);
      let to = from;
      for (let n = 0; n < count; to++) {
        if (queue[to].table !== null) n++;  // (entries dropped earlier are skipped)
      }
      const dirty = [];
      const frozenGen = this.frozenGen;
      for (let i = from; i < to; i++) {
        const entry = queue[i];
        if (!entry.dirty) continue;
        if (entry.gen === frozenGen) this.saveFrozen(entry);
        else dirty.push(entry);
      }
      if (this.frozen !== null) this.sendOut();
      this.write(dirty);
      for (let i = from; i < to; i++) {
        const entry = queue[i];
        queue[i] = undefined;
        if (entry.table === null) continue;
        entry.dirty = false;  // (its place in a dirty list is skipped)
        this.remove(entry);
      }
      this.evictions += count;
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
