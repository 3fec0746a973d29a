// Sliding event-time windows kept in slices: the methods of the window operator (windows.js)
// for them, installed on its prototype by install(proto, config) (config: window_config.js).
//
// Sliding event-time windows with the event-time trigger and a function that merges
// (count, reduce, an aggregate with merge) keep a key's records in slices instead, as Flink's
// slicing window operators and Scotty (Traub et al., ICDE 2018): the time line cut into pieces
// of gcd(size, slide), aligned like the windows, one accumulator per key and slice, so a record
// updates one accumulator rather than size/slide of them. A window's value is its slices'
// accumulators merged in time order when it fires (the first copied, as merge may change its
// first argument; merge must not change its second). The key's entry is then
// ["slices", start, accumulator, start, accumulator, ...] in order of start. Timers are the ones
// the window list has, registered when a key's first slice of a window appears, so windows fire
// in the same order; the cleanup of a window drops the slices no later window holds. A record
// older than its key's latest slice turns the key's entry back into a window list (windows keep
// the order records came in, slices would reduce it in time order), as is an entry restored from
// a checkpoint taken before slices; such a key keeps the window list until its windows are gone.
// So for an associative function (as a merge must be) every value is the window list's.
//
// Window end timers (EndTimers, below) are here too, with the operator's methods that fire them.
//
// The script's completion value is a frozen object { SLICES, install, EndTimers }.
(function () {
  "use strict";

  const SLICES = "slices";  // the first element of a sliced entry

  // Event-time timers of tumbling and sliding windows with the event-time trigger (kind "end"),
  // and processing-time timers of processing-time tumbling and sliding windows (kind
  // "processing_end"), kept by the operator instead of the TimerService: per time, the window
  // [start, end) it belongs to and the keys registered for it, in registration order, in three
  // arrays — no object and no Map entry per timer. A time belongs to one window (the operator
  // uses them only when trigger times end - 1 and cleanup times end - 1 + allowedLateness never
  // coincide; in processing time both are end - 1, one timer), and a key registers a window's
  // timers once while they are pending (when the window is new to the key: its first slice, or
  // its entry in the window list), so a timer is (time, key) without a check for duplicates. (In
  // processing time a record at the clock's time end - 1 after that time fired opens its window
  // again: a new bucket of a time that fired, which fires at the next advance, as ctx.timers
  // would.) The operator fires them in time order interleaved with what the TimerService holds
  // (see windows.js, "Window end timers").
  //
  // Checkpoints write them directly (ctx.timers.adopt(endTimers, "end"); the format is timers.js's
  // "Own timers"): a bucket's timers before `written` are in the backend, in the entries it
  // lists; a checkpoint writes each bucket's newer ones, one entry per key group, and deletes a
  // bucket's entries once the bucket fired. freeze(out) at the barrier gives the deletions first
  // (so that the entry of a bucket made again at a time that fired, whose key may be the fired
  // one's, is written after them and stays) and notes each bucket's length (frozenEnd);
  // take(budget) writes those ranges between batches, and a bucket that fires before its turn
  // writes its range first, so the checkpoint holds the timers live at the barrier. A timer's
  // seq (its order among the timers of its time, across restores) is base + its index in the
  // bucket.
  class EndTimers {
    // kind: the own-timer kind its checkpoint entries have (window_config.js, ownTimers): "end"
    // for event-time timers, "processing_end" for processing-time ones.
    constructor(kind = "end") {
      if (kind !== "end" && kind !== "processing_end") {
        throw new Error("window timers: unknown kind " + JSON.stringify(kind) +
            " (\"end\" or \"processing_end\")");
      }
      this.kind = kind;
      this.buckets = [];  // by time, ascending: few distinct times are open at once
      this.count = -1;  // (stored twice: V8 takes a field stored once for a constant)
      this.count = 0;
      this.frozen = false;
      this.out = null;     // the frozen checkpoint's entries: [keyGroup, key, value or null, ...]
      this.pending = [];   // the buckets with timers frozen and not written, from pendingAt on
      this.pendingAt = 0;
      this.gone = [];      // [keyGroup, key, ...] of fired buckets: deleted by the next checkpoint
      this.frozenGone = [];  // those the frozen checkpoint deletes
      this.entryKey = null;  // the entry format, given by ctx.timers.adopt()
      this.entryValue = null;
    }
    add(time, start, end, keyGroup, keyString, key) {
      const buckets = this.buckets;
      let i = buckets.length - 1;  // most timers are for the latest windows: search from the end
      while (i >= 0 && buckets[i].time > time) i--;
      let b = i >= 0 ? buckets[i] : undefined;
      if (b === undefined || b.time !== time) {
        b = newBucket(time, start, end);
        buckets.splice(i + 1, 0, b);
      } else if (b.start !== start || b.end !== end) {
        throw new Error("window timers: time " + time + " belongs to window [" + b.start + ", " +
            b.end + "), not [" + start + ", " + end + ")");
      }
      b.keyGroups.push(keyGroup);
      b.keyStrings.push(keyString);
      b.keys.push(key);
      this.count++;
    }
    // The earliest time, or Infinity when there is none.
    next() {
      return this.buckets.length === 0 ? Infinity : this.buckets[0].time;
    }
    // Removes and returns the earliest time's bucket (to fire it).
    shift() {
      const b = this.buckets.shift();
      this.count -= b.keys.length;
      if (this.frozen && b.frozenEnd > b.written) this.writeRange(b, b.frozenEnd);
      const entries = b.entries, gone = this.gone;
      for (let i = 0; i < entries.length; i++) gone.push(entries[i]);
      return b;
    }

    // Checkpoints (see above; called by ctx.timers).
    track() {}  // a bucket's unwritten timers are those from `written` on: nothing to start
    freeze(out) {
      if (this.frozen) throw new Error("window timers: a checkpoint's timers are frozen already");
      this.frozen = true;
      this.out = out;
      const pending = [];
      for (const b of this.buckets) {
        if (b.keys.length > b.written) {
          b.frozenEnd = b.keys.length;
          pending.push(b);
        }
      }
      this.pending = pending;
      this.pendingAt = 0;
      const gone = this.gone;
      for (let i = 0; i < gone.length; i += 2) out.push(gone[i], gone[i + 1], null);
      this.frozenGone = gone;  // (given back to `gone` if the checkpoint is given up)
      this.gone = [];
    }
    // Writes up to about `budget` frozen timers; true when the frozen checkpoint has them all.
    take(budget) {
      if (!this.frozen) return true;
      const pending = this.pending;
      let n = 0;
      while (this.pendingAt < pending.length) {
        const b = pending[this.pendingAt];
        if (b.frozenEnd > b.written) {  // (one that fired meanwhile was written then)
          if (n >= budget) return false;
          n += this.writeRange(b, Math.min(b.frozenEnd, b.written + (budget - n)));
          continue;
        }
        this.pendingAt++;
      }
      this.frozenGone = [];
      this.pending = [];
      this.frozen = false;
      this.out = null;
      return true;
    }
    // A checkpoint given up: its unwritten timers stay unwritten, its deletions are to come.
    abort() {
      if (!this.frozen) return;
      this.frozen = false;
      this.out = null;
      this.pending = [];
      this.gone = this.frozenGone.concat(this.gone);
      this.frozenGone = [];
    }
    // The timers [b.written, to) of bucket b to the frozen checkpoint, an entry per key group.
    writeRange(b, to) {
      const from = b.written, keyGroups = b.keyGroups;
      const groups = new Map();  // key group -> indices
      for (let i = from; i < to; i++) {
        const list = groups.get(keyGroups[i]);
        if (list === undefined) groups.set(keyGroups[i], [i]);
        else list.push(i);
      }
      const head = [b.start, b.end];
      for (const [keyGroup, indices] of groups) {
        const seqs = new Array(indices.length), keyStrings = new Array(indices.length);
        const keys = new Array(indices.length);
        for (let j = 0; j < indices.length; j++) {
          const i = indices[j];
          seqs[j] = b.base + i;
          keyStrings[j] = b.keyStrings[i];
          keys[j] = b.keys[i];
        }
        const key = this.entryKey(this.kind, b.time, seqs[0]);
        this.out.push(keyGroup, key, this.entryValue(head, seqs, keyStrings, keys));
        b.entries.push(keyGroup, key);
      }
      b.written = to;
      return to - from;
    }
    // Restored timers (window_config.js, ownTimers.parse; of this.kind), before any other is
    // added.
    restore(list) {
      list.sort((a, c) => a.time - c.time || a.seq - c.seq);
      const seen = new Set();
      let b = null, maxSeq = 0;
      const close = () => {
        if (b === null) return;
        b.written = b.keys.length;
        b.base = maxSeq + 1 - b.written;
        this.buckets.push(b);
        this.count += b.keys.length;
      };
      for (const t of list) {
        if (b === null || b.time !== t.time) {
          close();
          b = newBucket(t.time, t.start, t.end);
          maxSeq = t.seq;
        } else if (b.start !== t.start || b.end !== t.end) {
          throw new Error("window timers: the restored time " + t.time + " belongs to window [" +
              b.start + ", " + b.end + ") and [" + t.start + ", " + t.end + ")");
        }
        if (t.seq > maxSeq) maxSeq = t.seq;
        b.keyGroups.push(t.keyGroup);
        b.keyStrings.push(t.keyString);
        b.keys.push(t.key);
        const id = t.keyGroup + "\u0000" + t.entryKey;
        if (!seen.has(id)) {
          seen.add(id);
          b.entries.push(t.keyGroup, t.entryKey);
        }
      }
      close();
    }
  }

  // A time's bucket: the window, its timers (keyGroups, keyStrings, keys), and for checkpoints
  // how many are written (the entries they are in: [keyGroup, key, ...]) and frozen.
  function newBucket(time, start, end) {
    return { time, start, end, keyGroups: [], keyStrings: [], keys: [], base: 0, written: 0,
             frozenEnd: 0, entries: [] };
  }

  function install(proto, config) {
    const { windowStart, copyOf } = config;
    const methods = {
      // The timers of one time of window end timers (event or processing time: eventDomain), in
      // registration order; `this.endTimer` is the one timer object they reuse.
      fireEndTimers(bucket, eventDomain) {
        const timer = this.endTimer;
        const keyGroups = bucket.keyGroups, keyStrings = bucket.keyStrings, keys = bucket.keys;
        timer.time = bucket.time;
        for (let i = 0; i < keys.length; i++) {
          timer.keyGroup = keyGroups[i];
          timer.keyString = keyStrings[i];
          timer.key = keys[i];
          this.onWindowTimer(timer, eventDomain, bucket.start, bucket.end);
        }
        timer.key = undefined;
      },

      // Processing-time window end timers (this.processingTimers) and ctx.timers' processing-time
      // timers up to `now`, one time at a time: at each, ctx.timers' first (restored from a
      // checkpoint taken before the operator kept its own, so registered before them), then the
      // operator's own in registration order: the order ctx.timers alone would fire them in.
      // (Firing a window end timer registers none.)
      fireProcessingTimers(now) {
        const own = this.processingTimers, timers = this.timers;
        for (;;) {
          const ownNext = own.next(), theirNext = timers.nextProcessingTime();
          const time = ownNext < theirNext ? ownNext : theirNext;
          if (!(time <= now)) return;
          if (theirNext === time) timers.advanceProcessingTime(time, this.onProcessingTimer);
          if (own.count > 0 && own.next() === time) this.fireEndTimers(own.shift(), false);
          if (time === Infinity) return;
        }
      },

      // Sliding windows in slices: the record goes into its slice; a window of the record that the
      // key had no slice of opens (its timers), and those the watermark passed fire again (late
      // firings), latest first as addToAligned. Returns false when every window is late.
      addToSlices(keyGroup, keyString, key, record, time, watermark) {
        const size = this.size, step = this.step, lateness = this.lateness;
        let last = this.bucketStart;
        if (!(time >= last && time < last + step)) {
          last = windowStart(time, this.offset, step);
          this.bucketStart = last;
        }
        if (last + size - 1 + lateness <= watermark) return false;
        let ws = this.state.get(keyGroup, keyString);
        if (ws !== undefined && ws[0] !== SLICES) {  // a window list from an older checkpoint
          return this.addToAligned(keyGroup, keyString, key, record, time, watermark);
        }
        let s = this.sliceStart;
        const g = this.sliceSize;
        if (!(time >= s && time < s + g)) {
          s = windowStart(time, this.offset, g);
          this.sliceStart = s;
        }
        if (ws === undefined) {
          ws = [SLICES, s, this.first(record, 0)];
          this.openWindows(-Infinity, keyGroup, keyString, key, time, last, watermark);
        } else if (ws[ws.length - 2] === s) {
          ws[ws.length - 1] = this.add(ws[ws.length - 1], record);
        } else if (ws[ws.length - 2] < s) {
          this.openWindows(ws[ws.length - 2], keyGroup, keyString, key, time, last, watermark);
          ws.push(s, this.first(record, 0));
        } else {
          // Out of order for this key: its windows would reduce it after records of later slices,
          // so the key goes back to a window list (which keeps the order records came in).
          this.state.put(keyGroup, keyString, this.toWindows(ws, watermark));
          return this.addToAligned(keyGroup, keyString, key, record, time, watermark);
        }
        if (time <= watermark) {  // some window of the record may have fired: it fires again
          for (let start = last; start > time - size; start -= step) {
            const end = start + size;
            if (end - 1 + lateness <= watermark) break;
            if (end - 1 <= watermark) {
              const acc = this.mergeSlices(ws, start, end);
              this.emitWindow(key, start, end, acc, true);
            }
          }
        }
        this.state.put(keyGroup, keyString, ws);
        return true;
      },

      // The window list ([start, end, accumulator, pending, ...]) of a sliced entry: its windows that
      // are not cleaned up, each with its own accumulator.
      toWindows(ws, watermark) {
        const size = this.size, step = this.step, lateness = this.lateness;
        const windows = [];
        const first = ws[1];
        for (let start = windowStart(ws[ws.length - 2], this.offset, step); start > first - size;
             start -= step) {
          const end = start + size;
          if (end - 1 + lateness <= watermark) break;
          const acc = this.mergeSlices(ws, start, end);
          if (this.merged > 0) windows.push(start, end, copyOf(acc), 0);
        }
        return windows;
      },

      // Registers the timers of the windows of a record at `time` (not late; `last` the latest
      // start) that hold none of the key's slices: the key's slices end with `latest` (-Infinity:
      // none), earlier than the record's, so those are the windows that start after it.
      openWindows(latest, keyGroup, keyString, key, time, last, watermark) {
        const size = this.size, lateness = this.lateness;
        const from = latest > time - size ? latest : time - size;
        for (let start = last; start > from; start -= this.step) {
          const end = start + size;
          if (end - 1 + lateness <= watermark) break;
          this.registerTimers(keyGroup, keyString, key, start, end, watermark);
        }
      },

      // The accumulator of window [start, end) of a sliced entry: its slices merged in order, the
      // first copied when there are more; this.merged tells how many there were.
      mergeSlices(ws, start, end) {
        let acc, n = 0;
        for (let i = 1; i < ws.length; i += 2) {
          const s = ws[i];
          if (s < start) continue;
          if (s >= end) break;
          acc = n === 0 ? ws[i + 1] : this.merge(n === 1 ? copyOf(acc) : acc, ws[i + 1]);
          n++;
        }
        this.merged = n;
        return acc;
      },

      // A trigger or cleanup timer of window [start, end) of a key with a sliced entry ws: the
      // window fires at end - 1; at its cleanup the slices it is the last window of go.
      onSliceTimer(timer, start, end, ws) {
        const time = timer.time, step = this.step;
        const cleanup = time === end - 1 + this.lateness;
        if (time === end - 1) {
          const acc = this.mergeSlices(ws, start, end);
          if (this.merged === 0) return;
          // A value another window or a later firing still uses is emitted as a copy.
          const kept = !cleanup || ws[ws.length - 2] >= start + step;
          this.emitWindow(timer.key, start, end, acc, kept);
        }
        if (!cleanup) return;
        let drop = 1;
        while (drop < ws.length && ws[drop] < start + step) drop += 2;
        if (drop === 1) return;
        if (drop === ws.length) {
          this.state.delete(timer.keyGroup, timer.keyString);
        } else {
          ws.splice(1, drop - 1);
          this.state.put(timer.keyGroup, timer.keyString, ws);
        }
      },

    };
    for (const name of Object.keys(methods)) {
      Object.defineProperty(proto, name, { value: methods[name], writable: true, configurable: true });
    }
  }

  return Object.freeze({ SLICES, install, EndTimers });
})();
