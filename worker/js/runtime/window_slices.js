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
// The script's completion value is a frozen object { SLICES, install, EndTimers }.
(function () {
  "use strict";

  const SLICES = "slices";  // the first element of a sliced entry

  // Event-time timers of tumbling and sliding windows with the event-time trigger, kept by the
  // operator instead of the TimerService: per time, the window [start, end) it belongs to and
  // the keys registered for it, in registration order, in three arrays — no object and no Map
  // entry per timer. A time belongs to one window (the operator uses them only when trigger
  // times end - 1 and cleanup times end - 1 + allowedLateness never coincide), and a key
  // registers a window's timers once (when the window is new to the key: its first slice, or
  // its entry in the window list), so a timer is (time, key) without a check for duplicates.
  // The operator fires them in time order interleaved with what the TimerService holds (see
  // windows.js, "Window end timers"), and hands them to the TimerService before a checkpoint.
  class EndTimers {
    constructor() {
      this.buckets = [];  // by time, ascending: few distinct times are open at once
      this.count = 0;
    }
    add(time, start, end, keyGroup, keyString, key) {
      const buckets = this.buckets;
      let i = buckets.length - 1;  // most timers are for the latest windows: search from the end
      while (i >= 0 && buckets[i].time > time) i--;
      let b = i >= 0 ? buckets[i] : undefined;
      if (b === undefined || b.time !== time) {
        b = { time, start, end, keyGroups: [], keyStrings: [], keys: [] };
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
    // Removes and returns the earliest time's bucket.
    shift() {
      const b = this.buckets.shift();
      this.count -= b.keys.length;
      return b;
    }
  }

  function install(proto, config) {
    const { windowStart, copyOf } = config;
    const methods = {
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
