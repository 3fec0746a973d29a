// Local pre-aggregation before a keyed exchange into a window operator (a combiner, as the local
// half of Flink SQL's two-phase aggregation): the sending task folds the records of one key and
// one slice of time into a partial accumulator and sends that instead of the records; the window
// operator downstream merges it (windows.js processPartial) where it would have added them.
//
// Used on a HASH edge into an event-time tumbling or sliding window with the event-time trigger
// and a function that merges (count, reduce, an aggregate with merge), or into such a session
// window with count or an aggregate (see the last point below): what the planner marks
// (coordinator/planner.cc, Combinable). A slice is what the window operator keeps one
// accumulator for: the window itself (tumbling), gcd(size, slide) (sliding); every record of a
// slice falls into the same windows.
//
// Exactly the window operator's results and records, and each key's order:
// - A partial of tumbling or sliding windows waits across calls until it must go: end(), at
//   the end of every call, sends everything held when the watermark the call sends reaches the
//   earliest window of a held partial (its end - 1, dueOf), when the output is idle, or when a
//   record is held as it is (it goes before the watermark that follows it, as it would alone);
//   release() (the driver's run.release(), before the task forwards a barrier) and the end of
//   the input (watermark +Infinity) send everything. So a partial reaches the window operator
//   before any watermark that could fire a window of it, and a checkpoint's barrier finds the
//   combiner empty: it holds no state a checkpoint would need. Waiting costs no latency (no
//   window of a held partial can fire before the watermark that sends it) and spares the
//   window operator's task a call per batch: the senders' batches that only move the watermark
//   fold into one at its inbox. Session partials go at the end of their call.
// - Only records whose every window ends after the watermark this task last sent are folded:
//   the window operator's watermark is at most that one until the partial has arrived, so none
//   of those windows has fired, none is late, and a partial is never late, never a late firing,
//   never a side-output record. Every other record (possibly late, possibly a late firing within
//   allowed lateness, or with no event time) goes on as it is and the window operator decides.
//   While the task's output is idle (the window operator may not wait for its watermark) every
//   record goes on as it is; and as a window operator's watermark may have passed what an input
//   that was idle last sent, the planner gives no combiner to an edge with an idleTimeout
//   upstream (the task's C++ side may report its output idle without the chain knowing).
// - A key's partial holds a run of its records in one slice: a record of the key in another
//   slice, or one that goes on as it is, starts a new entry. Entries go out in the order of
//   their first record, so the window operator sees every key's records in the order they came
//   (grouped into runs), and each key's first record of a window, where it registers the
//   window's timers (whose order is the firing order), in the same order across keys. For an
//   associative function (as a merge must be) every value is the one without the combiner.
// - At most `maxEntries` entries are held: one more flushes first.
// - Keys whose windows fire at the same time may come out in another order among themselves
//   when two senders' partials wait differently (each key's own results keep their order, and
//   behind an exchange that order already depends on how the senders' batches interleave).
// - Session windows with count fold too, by interval: a key's partial is a run of its records
//   whose windows [ts, ts + gap) connect (touching counts, as the window operator merges), sent
//   as { [PARTIAL]: 1, key, acc, end } with the event time start: the session [start, end) those
//   records make on their own. The window operator merges that interval where it would have
//   merged each record's (windows.js processPartial): a window meets the run's interval exactly
//   when it meets one of its records' (the records' intervals connect, so they cover it), so the
//   sessions made are the same whatever order the records come in, and a count's value too.
//   A record folds only when its own window ends after the watermark sent (as above: then no
//   window it joins downstream has fired, so nothing is late or a late firing); a record that
//   does not meet the key's open run starts a new one (the old one goes out as it is). What
//   differs: a session's timer is registered once for the run, not record by record, so keys
//   whose sessions fire at the same millisecond may come out in another order among themselves
//   (each key's own results keep theirs; behind an exchange that order already depends on how
//   the senders' batches interleave). An aggregate's add and merge need not be commutative, and
//   a session merges windows in order of start, so a folded run could change its value: an
//   aggregate sends each record as a partial of its own, its accumulator (first(record))
//   instead of the whole record, sent at once (nothing held), only when its own window ends
//   after the watermark sent; otherwise (for count too) a record goes on as it is.
//
// A partial is the record { [PARTIAL]: 1, key, acc } (sessions with count: and end) with the
// event time of its first record (sessions: the run's start; written with the literal name: a
// computed key makes V8 build the object the slow way).
//
// The script's completion value is a frozen object { PARTIAL, Combiner, combinable }.
(function () {
  "use strict";

  const PARTIAL = "__sluice_partial__";
  const TUMBLING = 0, SLIDING = 1, SESSION = 2, EVENT_TIME = 0;
  const RAW = 0, FOLDED = 1;

  // Whether windows of this configuration (window_config.js parse(); `fn` its config.function)
  // can take partials: event time, the event-time trigger, a function that merges; sessions
  // only with a function whose accumulator is not the record itself (count, aggregate).
  function combinable(c, fn) {
    if (!c.eventTime || c.trigger !== EVENT_TIME || !c.merges) return false;
    return c.kind === TUMBLING || c.kind === SLIDING || (c.kind === SESSION && fn !== "reduce");
  }

  // The open runs of one call: key id (Combiner.idOf) -> entry, as a Map would hold them, and
  // emptied after every flush. An integer id from 0 to 2^32 - 1 takes slot id % 4,096 when the
  // slot is free in this generation (one generation a flush): found with a few array reads, no
  // hashing, and emptied all at once by the next generation. Other ids, and an id whose slot
  // another took first, go in a Map. A slot's owner stays for the generation (a deleted id
  // keeps it, marked -1), so an id whose slot is free this generation is in neither.
  const SLOTS = 4096;
  class OpenRuns {
    constructor() {
      // Stored twice: V8 takes a field stored once for a constant, and the first clear()
      // deoptimised the driver's loop in every isolate (bench/RESULTS.md, issue 17).
      this.gen = 0;
      this.gen = 1;
      this.gens = new Int32Array(SLOTS);  // the generation a slot was taken in
      this.ids = new Float64Array(SLOTS);
      this.entries = new Int32Array(SLOTS);  // the entry, or -1: deleted
      this.others = new Map();
    }
    // The entry of `id`, or -1.
    get(id) {
      if (typeof id === "number" && (id >>> 0) === id) {
        const s = id & (SLOTS - 1);
        if (this.gens[s] !== this.gen) return -1;
        if (this.ids[s] === id) return this.entries[s];
      }
      if (this.others.size === 0) return -1;
      const i = this.others.get(id);
      return i === undefined ? -1 : i;
    }
    set(id, entry) {
      if (typeof id === "number" && (id >>> 0) === id) {
        const s = id & (SLOTS - 1);
        if (this.gens[s] !== this.gen) {
          this.gens[s] = this.gen;
          this.ids[s] = id;
          this.entries[s] = entry;
          return;
        }
        if (this.ids[s] === id) {
          this.entries[s] = entry;
          return;
        }
      }
      this.others.set(id, entry);
    }
    delete(id) {
      if (typeof id === "number" && (id >>> 0) === id) {
        const s = id & (SLOTS - 1);
        if (this.gens[s] !== this.gen) return;
        if (this.ids[s] === id) {
          this.entries[s] = -1;
          return;
        }
      }
      if (this.others.size !== 0) this.others.delete(id);
    }
    clear() {
      if (++this.gen === 0x40000000) {  // (never in practice: one generation a flush)
        this.gens.fill(0);
        this.gen = 1;
      }
      if (this.others.size !== 0) this.others.clear();
    }
  }

  class Combiner {
    // spec: the window operator's { id, name, kind, config, fns }; config: window_config.js;
    // emit(keyGroup, record, ts, key) sends one record on the edge.
    constructor(spec, params, config, emit, maxEntries = 4096) {
      const c = config.parse(spec, { params });
      const fn = spec.config === undefined ? undefined : spec.config.function;
      if (!combinable(c, fn)) {
        throw new Error(c.where + ": its windows cannot take partial accumulators (a combiner " +
            "needs event-time windows, the event-time trigger and a function that merges; for " +
            "sessions, count or aggregate)");
      }
      this.windowStart = config.windowStart;
      this.firstOf = c.first;
      this.addTo = c.add;
      this.size = c.size;
      this.step = c.step;
      this.offset = c.offset;
      this.slice = c.kind === SLIDING ? config.gcd(c.size, c.step) : c.size;
      this.session = c.kind === SESSION;
      this.gap = c.gap;
      // Sessions with count fold runs of connected records (see the top).
      this.foldsSessions = this.session && fn === "count";
      this.emit = emit;
      this.watermark = NaN;  // (stored twice: see OpenRuns's gen)
      this.watermark = -Infinity;  // the last watermark sent
      this.idle = false;
      // The last slice seen and whether its records fold.
      this.sliceStart = NaN;
      this.sliceFolds = false;
      // What end() learnt of the held entries before `scanned`: whether one is a record as it
      // is, and the least slice start of the partials. (Kept apart from add and addRecord, whose
      // size decides what V8 inlines into the driver's loop.)
      this.scanned = 0;
      this.rawHeld = false;
      this.leastSlice = Infinity;
      this.inCall = false;  // between begin() and end(): still set at begin, the last call failed
      // Entries in order, the first `n` of each column: RAW (the record) or FOLDED (a partial);
      // `open` maps a key (idOf) to its entry that still takes records (OpenRuns). The columns
      // are made once and reused (numbers in typed arrays): arrays made afresh for every batch
      // grow again each time, and each new isolate's optimised code deoptimised on their
      // elements' kinds changing (bench/RESULTS.md, issue 17).
      const size = Math.max(1, Math.min(Math.floor(maxEntries) || 1, 1 << 16));
      this.maxEntries = size;
      this.n = 0;
      this.kinds = new Uint8Array(size);
      this.keyGroups = new Int32Array(size);
      this.keys = new Array(size).fill(undefined);
      this.values = new Array(size).fill(undefined);  // the record or the accumulator
      this.times = new Array(size).fill(undefined);  // any value: a record may have no time
      this.slices = new Float64Array(size);  // the slice's start; sessions: the run's start
      this.ends = new Float64Array(size);  // sessions: the run's end
      this.open = new OpenRuns();
      // Sessions: the last key (idOf) whose open run was looked up, and its entry (open's,
      // cached; -1: none). runKey keeps the last key while runIndex is -1 (compared with null
      // now and then, the comparison got mixed feedback, and optimised code called a generic
      // equality builtin for every record).
      this.runKey = NaN;
      this.runIndex = -1;
      // Counters, for tests and stats: records in, partials and records out.
      this.recordsIn = 0;
      this.partialsOut = 0;
      this.rawOut = 0;
    }

    // At the start of a call: the watermark the task last sent downstream and whether its
    // output is idle.
    // What a failed call left is dropped, as the driver drops its output (a failed call fails
    // the task; its input comes again from the last checkpoint, when the combiner held nothing).
    begin(watermark, idle) {
      if (this.inCall && this.n !== 0) this.take();
      this.inCall = true;
      if (watermark !== this.watermark) {
        this.watermark = watermark;
        this.sliceStart = NaN;
      }
      this.idle = idle;
    }

    // What `open` and runKey know a key by: a number key itself, a key string that is a
    // number's (String(n) === it, as keys.js makes the number n's) that number, any other its
    // key string. Two keys get the same id exactly when their key strings are equal (Map equates
    // numbers as String does: -0 with 0, NaN with NaN); a number is hashed and compared
    // without a string (the driver's memo for a combiner makes none: keys.js KeyMemo).
    static idOf(keyString, key) {
      if (typeof key === "number") return key;
      const c = keyString.charCodeAt(0);  // a digit, "-", "I"nfinity or "N"aN
      if ((c >= 48 && c <= 57) || c === 45 || c === 73 || c === 78) {
        const n = Number(keyString);
        if (String(n) === keyString) return n;
      }
      return keyString;
    }

    // Most records of tumbling and sliding windows: a number key's open entry in the current
    // slice, which folds (see folds()); in few enough instructions that V8 may inline it into
    // the driver's loop. Everything else: addRecord.
    add(keyGroup, keyString, key, record, ts) {
      if (typeof key === "number" && !this.session && !this.idle && this.sliceFolds &&
          ts >= this.sliceStart && ts < this.sliceStart + this.slice && this.n < this.maxEntries) {
        const i = this.open.get(key);
        if (i >= 0 && this.slices[i] === this.sliceStart) {
          this.recordsIn++;
          this.values[i] = this.addTo(this.values[i], record);
          return;
        }
      }
      this.addRecord(keyGroup, keyString, key, record, ts);
    }

    addRecord(keyGroup, keyString, key, record, ts) {
      this.recordsIn++;
      const certain = !this.idle && typeof ts === "number" && ts - ts === 0;
      if (this.foldsSessions) {
        this.addToRun(keyGroup, keyString, key, record, ts, certain);
        return;
      }
      if (this.session) {  // nothing held: a partial a record, or the record, sent at once
        if (certain && ts + this.gap - 1 > this.watermark) {
          this.partialsOut++;
          this.emit(keyGroup, { __sluice_partial__: 1, key, acc: this.firstOf(record, 0) }, ts, key);
        } else {
          this.rawOut++;
          this.emit(keyGroup, record, ts, key);
        }
        return;
      }
      if (this.n >= this.maxEntries) this.flush();
      const open = this.open, id = Combiner.idOf(keyString, key);
      if (!certain || !this.folds(ts)) {
        open.delete(id);
        this.push(RAW, keyGroup, key, record, ts, NaN, NaN);
        return;
      }
      const s = this.sliceStart;
      const i = open.get(id);
      if (i >= 0 && this.slices[i] === s) {
        this.values[i] = this.addTo(this.values[i], record);
        return;
      }
      open.set(id, this.n);
      this.push(FOLDED, keyGroup, key, this.firstOf(record, 0), ts, s, NaN);
    }

    // Sessions with count: the record joins its key's open run when their windows meet, else
    // starts one; a record that may be late goes on as it is (and closes the key's run).
    addToRun(keyGroup, keyString, key, record, ts, certain) {
      if (this.n >= this.maxEntries) this.flush();
      const open = this.open, id = Combiner.idOf(keyString, key);
      const end = ts + this.gap;
      if (!certain || !(end - 1 > this.watermark)) {
        open.delete(id);
        if (this.runIndex >= 0 && id === this.runKey) this.runIndex = -1;
        this.push(RAW, keyGroup, key, record, ts, NaN, NaN);
        return;
      }
      // The key's open run: the last key's is kept apart (a hot key's records come in a row).
      let i;
      if (this.runIndex >= 0 && id === this.runKey) {
        i = this.runIndex;
      } else {
        i = open.get(id);
        if (i >= 0) {
          this.runKey = id;
          this.runIndex = i;
        }
      }
      if (i >= 0) {
        const start = this.slices[i], runEnd = this.ends[i];
        if (start <= end && runEnd >= ts) {  // they meet (touching counts)
          if (ts < start) this.slices[i] = ts;
          if (end > runEnd) this.ends[i] = end;
          this.values[i] = this.addTo(this.values[i], record);
          return;
        }
      }
      this.runKey = id;
      this.runIndex = this.n;
      open.set(id, this.n);
      this.push(FOLDED, keyGroup, key, this.firstOf(record, 0), ts, ts, end);
    }

    // Whether records at ts fold (sets sliceStart): every window of ts ends after the watermark.
    folds(ts) {
      const g = this.slice;
      let s = this.sliceStart;
      if (ts >= s && ts < s + g) return this.sliceFolds;
      s = this.windowStart(ts, this.offset, g);
      this.sliceStart = s;
      this.sliceFolds = this.dueOf(s) > this.watermark;
      return this.sliceFolds;
    }

    push(kind, keyGroup, key, value, ts, slice, end) {
      const i = this.n++;
      this.kinds[i] = kind;
      this.keyGroups[i] = keyGroup;
      this.keys[i] = key;
      this.values[i] = value;
      this.times[i] = ts;
      this.slices[i] = slice;
      this.ends[i] = end;
    }

    // At the end of a call that sends `watermark` (and `idle`): sends what is held if it must go
    // now (see the top), else keeps it for a later call.
    end(watermark, idle) {
      this.inCall = false;
      const n = this.n;
      if (n === 0) return;
      if (this.session || idle) {
        this.flush();
        return;
      }
      const kinds = this.kinds, slices = this.slices;
      for (let i = this.scanned; i < n; i++) {
        if (kinds[i] === RAW) this.rawHeld = true;
        else if (slices[i] < this.leastSlice) this.leastSlice = slices[i];
      }
      this.scanned = n;
      if (this.rawHeld || watermark >= this.dueOf(this.leastSlice)) this.flush();
    }

    // The end - 1 of the earliest window of the slice starting at `slice` (the same for every
    // time in the slice: windows start on multiples of the slice's size too): the earliest
    // start after slice - size.
    dueOf(slice) {
      if (slice === Infinity) return Infinity;
      let start = this.windowStart(slice, this.offset, this.step);
      while (start - this.step > slice - this.size) start -= this.step;
      return start + this.size - 1;
    }

    // Sends every entry, in order, and forgets them.
    flush() {
      const n = this.n;
      if (n === 0) return;
      const kinds = this.kinds, keyGroups = this.keyGroups, keys = this.keys;
      const values = this.values, times = this.times, emit = this.emit;
      const starts = this.slices, ends = this.ends;
      for (let i = 0; i < n; i++) {
        if (kinds[i] === RAW) {
          this.rawOut++;
          emit(keyGroups[i], values[i], times[i], keys[i]);
        } else if (this.foldsSessions) {
          this.partialsOut++;
          emit(keyGroups[i], { __sluice_partial__: 1, key: keys[i], acc: values[i], end: ends[i] },
               starts[i], keys[i]);
        } else {
          this.partialsOut++;
          emit(keyGroups[i], { __sluice_partial__: 1, key: keys[i], acc: values[i] }, times[i], keys[i]);
        }
      }
      this.take();
    }

    // Forgets the entries (and lets go of their records and accumulators).
    take() {
      const n = this.n;
      this.n = 0;
      this.keys.fill(undefined, 0, n);
      this.values.fill(undefined, 0, n);
      this.times.fill(undefined, 0, n);
      this.open.clear();
      this.runIndex = -1;
      this.scanned = 0;
      this.rawHeld = false;
      this.leastSlice = Infinity;
    }

    // Entries held.
    get held() {
      return this.n;
    }
  }

  return Object.freeze({ PARTIAL, Combiner, combinable });
})();
