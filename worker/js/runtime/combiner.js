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
// Exactly the window operator's results, records and order:
// - Nothing outlives a call into the chain: flush() (the driver's finish(), before the batch,
//   and so before any watermark, idleness change or barrier, leaves the task) sends everything.
//   So the combiner holds no state a checkpoint would need, and a partial reaches the window
//   operator before the watermark that follows its records.
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
// - Session windows (count, or an aggregate with merge) fold nothing: a session's extent depends
//   on every record's time, so each record becomes a partial of its own, its accumulator
//   (first(record): a count of 1, say) instead of the whole record — a projection that spares
//   the exchange the record's other fields, sent at once (nothing held). Only when the record's
//   own window [ts, ts + gap) ends after the watermark sent (then neither late nor a late
//   firing downstream); otherwise it goes on as it is.
//
// A partial is the record { [PARTIAL]: 1, key, acc } with the event time of its first record
// (written with the literal name: a computed key makes V8 build the object the slow way).
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

  class Combiner {
    // spec: the window operator's { id, name, kind, config, fns }; config: window_config.js;
    // emit(keyGroup, record, ts, key) sends one record on the edge.
    constructor(spec, params, config, emit, maxEntries = 4096) {
      const c = config.parse(spec, { params });
      if (!combinable(c, spec.config === undefined ? undefined : spec.config.function)) {
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
      this.emit = emit;
      this.maxEntries = maxEntries;
      this.watermark = -Infinity;  // the last watermark sent
      this.idle = false;
      // The last slice seen and whether its records fold.
      this.sliceStart = NaN;
      this.sliceFolds = false;
      // Entries in order: RAW (the record) or FOLDED (a partial); `open` maps a key string to
      // its entry that still takes records.
      this.kinds = [];
      this.keyGroups = [];
      this.keys = [];
      this.values = [];  // the record or the accumulator
      this.times = [];
      this.slices = [];
      this.open = new Map();
      // Counters, for tests and stats: records in, partials and records out.
      this.recordsIn = 0;
      this.partialsOut = 0;
      this.rawOut = 0;
    }

    // At the start of a call: the watermark the task last sent downstream and whether its
    // output is idle.
    // What a failed call left is dropped, as the driver drops its output.
    begin(watermark, idle) {
      if (this.kinds.length !== 0) this.take();
      if (watermark !== this.watermark) {
        this.watermark = watermark;
        this.sliceStart = NaN;
      }
      this.idle = idle;
    }

    add(keyGroup, keyString, key, record, ts) {
      this.recordsIn++;
      const certain = !this.idle && typeof ts === "number" && ts - ts === 0;
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
      if (this.kinds.length >= this.maxEntries) this.flush();
      const open = this.open;
      if (!certain || !this.folds(ts)) {
        if (open.size !== 0) open.delete(keyString);
        this.push(RAW, keyGroup, key, record, ts, NaN);
        return;
      }
      const s = this.sliceStart;
      const i = open.get(keyString);
      if (i !== undefined && this.slices[i] === s) {
        this.values[i] = this.addTo(this.values[i], record);
        return;
      }
      open.set(keyString, this.kinds.length);
      this.push(FOLDED, keyGroup, key, this.firstOf(record, 0), ts, s);
    }

    // Whether records at ts fold (sets sliceStart): every window of ts ends after the watermark.
    folds(ts) {
      const g = this.slice;
      let s = this.sliceStart;
      if (ts >= s && ts < s + g) return this.sliceFolds;
      s = this.windowStart(ts, this.offset, g);
      this.sliceStart = s;
      // The earliest window of ts: the earliest start after ts - size.
      let start = this.windowStart(ts, this.offset, this.step);
      while (start - this.step > ts - this.size) start -= this.step;
      this.sliceFolds = start + this.size - 1 > this.watermark;
      return this.sliceFolds;
    }

    push(kind, keyGroup, key, value, ts, slice) {
      this.kinds.push(kind);
      this.keyGroups.push(keyGroup);
      this.keys.push(key);
      this.values.push(value);
      this.times.push(ts);
      this.slices.push(slice);
    }

    // Sends every entry, in order, and forgets them.
    flush() {
      const n = this.kinds.length;
      if (n === 0) return;
      const kinds = this.kinds, keyGroups = this.keyGroups, keys = this.keys;
      const values = this.values, times = this.times, emit = this.emit;
      this.take();
      for (let i = 0; i < n; i++) {
        if (kinds[i] === RAW) {
          this.rawOut++;
          emit(keyGroups[i], values[i], times[i], keys[i]);
        } else {
          this.partialsOut++;
          emit(keyGroups[i], { __sluice_partial__: 1, key: keys[i], acc: values[i] }, times[i], keys[i]);
        }
      }
    }

    take() {
      this.kinds = [];
      this.keyGroups = [];
      this.keys = [];
      this.values = [];
      this.times = [];
      this.slices = [];
      this.open.clear();
    }

    // Entries held (0 between calls).
    get held() {
      return this.kinds.length;
    }
  }

  return Object.freeze({ PARTIAL, Combiner, combinable });
})();
