// Timers of one keyed operator in one task: event-time timers fire when the operator's
// watermark reaches them, processing-time timers when the wall clock does. A timer belongs to a
// key (its key string, key group and the key's value) and a namespace (a window's "start:end",
// or "" for a process function's own timers); registering the same (time, key, namespace)
// twice keeps one timer, as in Flink.
//
// Each domain keeps a min-heap of the distinct times and, per time, its timers in registration
// order, so timers of one time fire in the order they were registered; many timers share a time
// (every key's window ends at the same instant), so the heap stays small.
//
// Checkpoints are incremental (see "Changes" below, and timer_changes.js, which the service
// takes when it is made: new TimerService(rt.timer_changes)): with trackChanges(), the service
// records which timers were registered and which stored ones are gone since the last
// freezeChanges(); a checkpoint writes only those, one state entry per timer, deletions first,
// and its synchronous part is freezeChanges(), which swaps Sets. Each timer carries its
// registration number (seq) and that of its (time, namespace) group (nsSeq): restoreEntries()
// registers timers ordered by (nsSeq, seq), so timers of one time fire in the order they would
// have without the interruption.
//
// The older format, kept for checkpoints written before: snapshotByKeyGroup() gives every live
// timer as JSON data, by key group (a run per time and namespace, key strings not repeated),
// and restore() registers such runs in their firing order.
//
// Timers an operator keeps itself (windows.js) are written by its store, which adopt() joins to
// the checkpoints (store.freeze(out), take(budget), abort()); their entries' keys are JSON lists
// that begin with a string. restoreEntries keeps them for adopt(): store.restore(timers), or,
// those no store keeps, registered here in their domain (settleOwn).
//
// The script's completion value is a frozen object { TimerService }.
(function () {
  "use strict";

  const EVENT = 0, PROCESSING = 1;

  // A binary min-heap of distinct times (numbers).
  class TimeHeap {
    constructor() {
      this.items = [];
    }
    get size() {
      return this.items.length;
    }
    peek() {
      return this.items[0];
    }
    push(t) {
      const a = this.items;
      let i = a.length;
      a.push(t);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (a[p] <= t) break;
        a[i] = a[p];
        i = p;
      }
      a[i] = t;
    }
    pop() {
      const a = this.items;
      const top = a[0];
      const last = a.pop();
      if (a.length > 0) {
        let i = 0;
        const n = a.length;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= n) break;
          const r = l + 1;
          const c = r < n && a[r] < a[l] ? r : l;
          if (a[c] >= last) break;
          a[i] = a[c];
          i = c;
        }
        a[i] = last;
      }
      return top;
    }
  }

  // One timer. seq: its registration number in the service; nsSeq: that of its (time,
  // namespace) group, whose place among the groups of its time is its firing order. live: not
  // fired or deleted; stored: the state backend holds it (written by a checkpoint, or
  // restored); cgen: the generation of the change Set it is in (0: none; timer_changes.js).
  class Timer {
    constructor(domain, time, keyGroup, keyString, key, namespace, seq, nsSeq) {
      this.time = time;
      this.keyGroup = keyGroup;
      this.keyString = keyString;
      this.key = key;
      this.namespace = namespace;
      this.domain = domain;
      this.seq = seq;
      this.nsSeq = nsSeq;
      this.live = true;
      this.stored = false;
      this.cgen = 0;
    }
  }

  // One domain's timers: per distinct time a bucket, namespace -> key string -> timer, whose
  // insertion order is the registration order (Maps iterate in insertion order, and visit
  // entries added while iterating, so a timer registered while its time fires fires too).
  class Domain {
    constructor(service, domain) {
      this.service = service;
      this.domain = domain;
      this.heap = new TimeHeap();
      this.buckets = new Map();  // time -> Map(namespace -> Map(keyString -> timer))
      this.count = 0;
    }
    // The (time, namespace) group, made with nsSeq when new.
    group(time, namespace, nsSeq) {
      let bucket = this.buckets.get(time);
      if (bucket === undefined) {
        bucket = new Map();
        this.buckets.set(time, bucket);
        this.heap.push(time);
      }
      let byKey = bucket.get(namespace);
      if (byKey === undefined) {
        byKey = new Map();
        byKey.nsSeq = nsSeq;
        bucket.set(namespace, byKey);
      }
      return byKey;
    }
    register(time, keyGroup, keyString, key, namespace) {
      const service = this.service;
      const byKey = this.group(time, namespace, service.seq);
      if (byKey.has(keyString)) return;
      const timer = new Timer(this.domain, time, keyGroup, keyString, key, namespace,
                              service.seq++, byKey.nsSeq);
      byKey.set(keyString, timer);
      this.count++;
      if (service.changes !== null) service.changes.add(timer);
    }
    remove(time, keyString, namespace) {
      const bucket = this.buckets.get(time);
      if (bucket === undefined) return;
      const byKey = bucket.get(namespace);
      if (byKey === undefined) return;
      const timer = byKey.get(keyString);
      if (timer === undefined) return;
      byKey.delete(keyString);
      this.count--;
      if (this.service.changes !== null) this.service.changes.gone(timer);
    }
    fireUpTo(time, fire) {
      const heap = this.heap;
      const service = this.service;
      while (heap.size > 0 && heap.peek() <= time) {
        const t = heap.peek();
        const bucket = this.buckets.get(t);
        for (const byKey of bucket.values()) {
          for (const timer of byKey.values()) {
            byKey.delete(timer.keyString);
            this.count--;
            if (service.changes !== null) service.changes.gone(timer);
            fire(timer);
          }
        }
        // Everything of time t fired (timers added to it meanwhile too).
        heap.pop();
        this.buckets.delete(t);
      }
    }
    next() {
      const heap = this.heap;
      while (heap.size > 0) {
        const t = heap.peek();
        const bucket = this.buckets.get(t);
        let live = false;
        for (const byKey of bucket.values()) {
          if (byKey.size > 0) {
            live = true;
            break;
          }
        }
        if (live) return t;
        heap.pop();
        this.buckets.delete(t);
      }
      return Infinity;
    }
  }

  function checkTime(time) {
    if (typeof time !== "number" || Number.isNaN(time)) {
      throw new TypeError("a timer's time must be a number (epoch milliseconds), not " +
          (typeof time === "number" ? "NaN" : typeof time));
    }
  }

  // lib: timer_changes.js's library, for checkpoints (trackChanges, restoreEntries).
  class TimerService {
    constructor(lib = null) {
      this.domains = [new Domain(this, EVENT), new Domain(this, PROCESSING)];
      this.seq = 0;  // the next registration number
      this.lib = lib;
      this.changes = null;  // null: not tracked; else a timer_changes.js Changes
      this.own = null;  // own timers: the store, restored entries not adopted, settled entries
      this.restoredOwn = null;
      this.settled = undefined;
    }

    // Own timers (see the top; format: window_config.js, ownTimers; store null: none). Called
    // once, before the first checkpoint and the first firing.
    adopt(store, kind, format) {
      const raw = this.restoredOwn;
      this.restoredOwn = null;
      if (this.own !== null) throw new Error("timers: an operator's own timers are adopted already");
      if (store !== null) {
        this.own = store;
        [store.entryKey, store.entryValue] = [format.entryKey, format.entryValue];
      }
      if (raw !== null) {
        const list = [];
        for (const [keyGroup, key, value] of raw) format.parse(keyGroup, key, value, list);
        if (store !== null) store.restore(list.filter((t) => t.kind === kind));
        this.settleOwn(list.filter((t) => store === null || t.kind !== kind));
      }
      if (store !== null && this.changes !== null) store.track();
    }
    // Restored own timers no store keeps: registered here in their order and domain (not those
    // at or before their key group's session mark: fired); the next checkpoint deletes them.
    settleOwn(list) {
      list.sort((a, b) => a.seq - b.seq);
      const entries = new Map(), marks = new Map();
      for (const t of list) if (t.mark) marks.set(t.keyGroup, t.time);
      for (const t of list) {
        entries.set(t.keyGroup + "\u0000" + t.entryKey, [t.keyGroup, t.entryKey]);
        if (t.mark || t.time <= (marks.get(t.keyGroup) ?? -Infinity)) continue;
        this.domains[t.kind === "processing_end" ? PROCESSING : EVENT].register(t.time,
            t.keyGroup, t.keyString, t.key, t.kind === "session" ? "" : t.start + ":" + t.end);
      }
      if (entries.size > 0) this.settled = Array.from(entries.values());
    }
    unadopted() {  // restored own timers are adopted before the timers are used
      const [keyGroup, key] = this.restoredOwn[0];
      throw new Error("timers: the checkpoint holds timers a window operator keeps (entry " + key +
          " of key group " + keyGroup + "), which this operator does not keep");
    }

    // Live timers in both domains.
    get size() {
      return this.domains[EVENT].count + this.domains[PROCESSING].count;
    }

    registerEventTimeTimer(time, keyGroup, keyString, key, namespace = "") {
      checkTime(time);
      this.domains[EVENT].register(time, keyGroup, keyString, key, namespace);
    }
    registerProcessingTimeTimer(time, keyGroup, keyString, key, namespace = "") {
      checkTime(time);
      this.domains[PROCESSING].register(time, keyGroup, keyString, key, namespace);
    }
    deleteEventTimeTimer(time, keyString, namespace = "") {
      this.domains[EVENT].remove(time, keyString, namespace);
    }
    deleteProcessingTimeTimer(time, keyString, namespace = "") {
      this.domains[PROCESSING].remove(time, keyString, namespace);
    }

    // Fires every event-time timer with time <= watermark, earliest first (registration order
    // within a time), as fire({ time, keyGroup, keyString, key, namespace }). Timers registered
    // while firing fire in the same call when they are due.
    advanceWatermark(watermark, fire) {
      if (this.restoredOwn !== null) this.unadopted();
      this.domains[EVENT].fireUpTo(watermark, fire);
    }
    // The same for processing-time timers and the wall clock `now` (epoch ms).
    advanceProcessingTime(now, fire) {
      this.domains[PROCESSING].fireUpTo(now, fire);
    }

    // The earliest live processing-time timer's time, or Infinity.
    nextProcessingTime() {
      return this.domains[PROCESSING].next();
    }
    // The earliest live event-time timer's time, or Infinity.
    nextEventTime() {
      if (this.restoredOwn !== null) this.unadopted();
      return this.domains[EVENT].next();
    }

    // Changes (timer_changes.js). trackChanges() starts recording them; every live timer not
    // stored counts as registered. A timer's state entry is keyed by its domain, time, namespace
    // and key string in its key group; a deletion once it is gone.
    trackChanges() {
      if (this.changes !== null) return;
      this.changes = new (this.checkpoints().Changes)();
      if (this.own !== null) this.own.track();
      for (const domain of this.domains) {
        for (const bucket of domain.buckets.values()) {
          for (const byKey of bucket.values()) {
            for (const timer of byKey.values()) if (!timer.stored) this.changes.add(timer);
          }
        }
      }
    }
    checkpoints() {
      if (this.lib === null) {
        throw new Error("timers: checkpoints need timer_changes.js " +
                        "(new TimerService(rt.timer_changes))");
      }
      return this.lib;
    }
    // A checkpoint's synchronous part: the changes so far become the frozen generation, whose
    // entries takeFrozen() pushes to `out` (as they were now, also if they change meanwhile).
    freezeChanges(out) {
      if (this.restoredOwn !== null) this.unadopted();
      if (this.changes === null) this.trackChanges();
      this.changes.freeze(out);
      if (this.settled !== undefined) {  // own timers' entries settled into this service
        for (const [keyGroup, key] of this.settled) out.push(keyGroup, key, null);
        this.settled = undefined;
      }
      if (this.own !== null) this.own.freeze(out);
    }
    // Pushes up to `budget` entries of the frozen generation (and up to as many of the own
    // timers'); true when all of it is out.
    takeFrozen(budget) {
      const own = this.own === null || this.own.take(budget);
      return (this.changes === null || this.changes.take(budget)) && own;
    }
    // A checkpoint given up: what it did not write is a change again.
    abortFrozen() {
      if (this.own !== null) this.own.abort();
      if (this.changes !== null) this.changes.abort();
    }

    // Registers stored timers: [[keyGroup, entry key, entry value], ...] as written by
    // checkpoints (of one or several tasks), stored, in (nsSeq, seq) order.
    // Entries of own timers (a key that is a JSON list beginning with a string) are kept for
    // adopt().
    restoreEntries(entries) {
      const timers = [];
      for (const [keyGroup, key, value] of entries) {
        if (key.charCodeAt(1) === 34) {  // '["': an own timers' entry, for adopt()
          if (this.own !== null) throw new Error("timers: own timers restored after adopt()");
          if (this.restoredOwn === null) this.restoredOwn = [];
          this.restoredOwn.push([keyGroup, key, value]);
          continue;
        }
        timers.push(this.checkpoints().parseEntry(keyGroup, key, value));
      }
      timers.sort((a, b) => a.nsSeq - b.nsSeq || a.seq - b.seq);
      for (const t of timers) {
        const domain = this.domains[t.domain];
        const byKey = domain.group(t.time, t.namespace, t.nsSeq);
        if (byKey.has(t.keyString)) continue;
        const timer = new Timer(t.domain, t.time, t.keyGroup, t.keyString, t.key, t.namespace,
                                t.seq, byKey.nsSeq);
        timer.stored = true;
        byKey.set(t.keyString, timer);
        domain.count++;
        if (t.seq >= this.seq) this.seq = t.seq + 1;
        if (t.nsSeq >= this.seq) this.seq = t.nsSeq + 1;
      }
    }

    // Every live timer, by key group: a Map of key group -> its runs (see "Snapshots" below).
    snapshotByKeyGroup() {
      const groups = new Map();
      // Per key group: its run of the current (domain, time, namespace), valid while its stamp
      // is the current one, and the last seq written to it.
      const runs = [], stamps = [], last = [];
      let seq = 0, stamp = 0;
      for (let d = 0; d < 2; d++) {
        const buckets = this.domains[d].buckets;
        const times = Array.from(buckets.keys()).sort((a, b) => a - b);
        for (const time of times) {
          const t = Number.isFinite(time) ? time : String(time);
          for (const [namespace, byKey] of buckets.get(time)) {
            stamp++;
            for (const timer of byKey.values()) {
              const kg = timer.keyGroup;
              let run = runs[kg];
              if (stamps[kg] !== stamp) {
                run = [d, t, namespace, [], [], 0];
                runs[kg] = run;
                stamps[kg] = stamp;
                last[kg] = 0;
                const list = groups.get(kg);
                if (list === undefined) groups.set(kg, [run]);
                else list.push(run);
              }
              run[3].push(seq - last[kg]);
              last[kg] = seq++;
              run[4].push(timer.keyString);
              if (run[5] !== 0) {
                run[5].push(timer.key);
              } else if (timer.key !== timer.keyString) {  // the run's first other key
                run[5] = run[4].slice(0, -1);
                run[5].push(timer.key);
              }
            }
          }
        }
      }
      return groups;
    }

    // Every live timer as [[keyGroup, runs], ...], for restore().
    snapshot() {
      return Array.from(this.snapshotByKeyGroup());
    }

    // Registers the timers of [[keyGroup, runs], ...] (from snapshot(), or key groups of
    // snapshotByKeyGroup(), of one or several snapshots) whose key group satisfies
    // owns(keyGroup), in seq order.
    restore(snapshot, owns = () => true) {
      const cursors = [];
      for (const [keyGroup, runs] of snapshot) {
        if (owns(keyGroup)) cursors.push(new Cursor(keyGroup, runs));
      }
      // A merge of the key groups' lists, each in seq order, by seq: a min-heap of cursors.
      const heap = cursors.filter((c) => c.next());
      for (let i = (heap.length >> 1) - 1; i >= 0; i--) siftDown(heap, i);
      while (heap.length > 0) {
        const c = heap[0];
        this.domains[c.domain].register(c.time, c.keyGroup, c.keyString, c.key, c.namespace);
        if (!c.next()) {
          const tail = heap.pop();
          if (heap.length === 0) break;
          heap[0] = tail;
        }
        siftDown(heap, 0);
      }
    }
  }

  // Snapshots. A key group's timers are a list of runs, one per (domain, time, namespace) in
  // firing order: [domain, time, namespace, seqs, keyStrings, keys]. seqs number the timers in
  // the order they fire across all key groups (the first of a run as is, the others as the
  // difference to the one before), so that a restore registers them in that order and timers of
  // one time fire as they would have; keys are the key values, or 0 when every key is its key
  // string. A time of +-Infinity is the string "Infinity" or "-Infinity" (JSON has none).
  //
  // A Cursor walks one key group's runs, checking them: they come from a checkpoint.
  class Cursor {
    constructor(keyGroup, runs) {
      this.keyGroup = keyGroup;
      if (!Number.isInteger(keyGroup) || keyGroup < 0 || !Array.isArray(runs)) {
        this.bad("is not [keyGroup, runs]");
      }
      this.runs = runs;
      this.r = -1;  // the run
      this.i = 0;   // the next timer in it
      this.n = 0;
      this.seq = 0;
      this.domain = 0;
      this.time = 0;
      this.namespace = "";
      this.keyString = "";
      this.key = undefined;
    }

    // Moves to the next timer; false at the end.
    next() {
      while (this.i >= this.n) {
        if (++this.r >= this.runs.length) return false;
        this.enterRun(this.runs[this.r]);
      }
      const run = this.runs[this.r], i = this.i++;
      this.seq = i === 0 ? run[3][0] : this.seq + run[3][i];
      this.keyString = run[4][i];
      this.key = run[5] === 0 ? this.keyString : run[5][i];
      if (typeof this.seq !== "number" || typeof this.keyString !== "string") {
        this.bad("has a bad timer in run " + this.r);
      }
      return true;
    }

    enterRun(run) {
      if (!Array.isArray(run) || run.length !== 6 || (run[0] !== EVENT && run[0] !== PROCESSING) ||
          typeof run[2] !== "string" || !Array.isArray(run[3]) || !Array.isArray(run[4]) ||
          run[3].length !== run[4].length ||
          (run[5] !== 0 && (!Array.isArray(run[5]) || run[5].length !== run[4].length))) {
        this.bad("has a bad run " + this.r + " (not [domain 0 or 1, time, namespace, seqs, " +
            "keyStrings, keys or 0] of equal lengths)");
      }
      const time = typeof run[1] === "string" ? Number(run[1]) : run[1];
      if (typeof time !== "number" || Number.isNaN(time)) {
        this.bad("has a bad time in run " + this.r);
      }
      this.domain = run[0];
      this.time = time;
      this.namespace = run[2];
      this.i = 0;
      this.n = run[4].length;
    }

    bad(what) {
      throw new TypeError("the timer snapshot of key group " + String(this.keyGroup) + " " + what);
    }
  }

  function siftDown(heap, i) {
    const n = heap.length, c = heap[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && heap[r].seq < heap[l].seq ? r : l;
      if (heap[m].seq >= c.seq) break;
      heap[i] = heap[m];
      i = m;
    }
    heap[i] = c;
  }

  return Object.freeze({ TimerService });
})();
