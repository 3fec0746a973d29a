// The window operator of a keyed stream: tumbling, sliding and session windows in event or
// processing time, fired by the watermark, the wall clock or an element count, with allowed
// lateness and late records dropped or sent to a side output. The semantics are Flink's
// WindowOperator with EventTimeTrigger / ProcessingTimeTrigger / CountTrigger:
//
// - A window is [start, end); its last timestamp is end - 1. Tumbling and sliding windows are
//   aligned to the epoch plus `offset`; a session record opens [ts, ts + gap) and merges with
//   every window of its key it intersects (touching counts, as TimeWindow.intersects).
// - An event-time window is late when end - 1 + allowedLateness <= watermark: its state is gone.
//   A record whose windows are all late, and with ts + allowedLateness <= watermark, is a late
//   record (dropped, or sent to the side output with `lateOutput`). A record for a window that
//   already fired but is not late fires the window again at once (a late firing).
// - Firing never purges: the window's state stays until its cleanup time (end - 1 +
//   allowedLateness in event time, end - 1 in processing time), when it is deleted.
// - A count trigger fires a window each time `count` elements arrived since its last firing
//   (merged sessions add their counts); elements that never completed a count are dropped at
//   cleanup, except at the end of input (onWatermark(Infinity)), where every window whose last
//   elements were not yet emitted fires once more.
//
// State: one entry per key in ctx.state, a flat array of the key's open windows
// [start, end, accumulator, pending, start, end, ...] where `pending` counts the elements since the
// count trigger's last firing. Timers of tumbling and sliding windows: namespace "start:end"; the
// trigger timer at end - 1 (event or processing time) and the cleanup timer at the cleanup time
// (the same timer when they are equal). Timers of session windows: see "Session timers" below.
// Nothing else lives in the operator between calls, so ctx.state and ctx.timers are its whole
// snapshot.
//
// Session timers. A session's window moves while records extend it (nearly every record does),
// so its timers are not tied to one window: they have the namespace "" and mean "look at this
// key's sessions now". A session's due time is its end - 1 until its time trigger fired, then
// its cleanup time (the count trigger has only the cleanup time). The invariant: every session
// has a live timer at or before its due time. A session that grows keeps the timer it has (its
// due time only grows), unless its trigger had fired and it is due again; when a timer fires, the
// key's sessions due then fire or are cleaned up, and every other session of the key registers
// a timer at its due time (a no-op when there is one: a timer is (time, key, namespace)). So a
// session extended many times costs one timer, moved when it fires, as Flink's lazy timers.
//
// Slices. Sliding event-time windows with the event-time trigger and a function that merges
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
// Accumulators are stored as they are: a reduce window's first accumulator is its first record.
// User functions may change and return their first argument (the accumulator) but must not
// change the record. A value that is emitted while its window stays open is a copy, so what
// happens downstream cannot change the state.
//
// The script's completion value is a frozen object { make }.
(function () {
  "use strict";

  const STRIDE = 4;
  const SLICES = "slices";  // the first element of a sliced entry

  function gcd(a, b) {
    while (b !== 0) [a, b] = [b, a % b];
    return a;
  }
  const TUMBLING = 0, SLIDING = 1, SESSION = 2;
  const EVENT_TIME = 0, PROCESSING_TIME = 1, COUNT = 2;
  const FIELDS = ["assigner", "time", "trigger", "allowedLateness", "lateOutput", "function"];

  function windowStart(ts, offset, size) {
    const remainder = (ts - offset) % size;
    return remainder < 0 ? ts - (remainder + size) : ts - remainder;
  }

  function indexOfWindow(ws, start, end) {
    for (let i = 0; i < ws.length; i += STRIDE) {
      if (ws[i] === start && ws[i + 1] === end) return i;
    }
    return -1;
  }

  // Removes ws[i .. i + STRIDE) in place (splice would allocate the removed part).
  function removeWindow(ws, i) {
    const n = ws.length - STRIDE;
    for (let j = i; j < n; j++) ws[j] = ws[j + STRIDE];
    ws.length = n;
  }

  // Timer namespaces "start:end" of tumbling and sliding windows. Number-to-string conversion of
  // epoch milliseconds is slow (they are not small integers), and the few open windows are the
  // same for all keys, so the names of recent windows are kept: built once, and found again
  // without parsing when their timers fire (a timer's time is its window's end - 1, or
  // end - 1 + lateness for a cleanup timer).
  const CACHED_NAMES = 32;
  class Namespaces {
    constructor(lateness) {
      this.lateness = lateness;
      this.starts = new Float64Array(CACHED_NAMES).fill(NaN);
      this.ends = new Float64Array(CACHED_NAMES).fill(NaN);
      this.names = new Array(CACHED_NAMES).fill("");
      this.next = 0;
      this.start = 0;  // set by parse()
      this.end = 0;
    }
    of(start, end) {
      const starts = this.starts, ends = this.ends;
      for (let i = 0; i < CACHED_NAMES; i++) {
        if (starts[i] === start && ends[i] === end) return this.names[i];
      }
      const name = start + ":" + end;
      const i = this.next;
      starts[i] = start;
      ends[i] = end;
      this.names[i] = name;
      this.next = (i + 1) % CACHED_NAMES;
      return name;
    }
    // The window of a timer with namespace `name` at `time`, in this.start and this.end.
    parse(name, time) {
      const ends = this.ends, fireEnd = time + 1, cleanupEnd = time + 1 - this.lateness;
      for (let i = 0; i < CACHED_NAMES; i++) {
        // Numbers first: comparing strings of equal length compares their characters.
        if ((ends[i] === fireEnd || ends[i] === cleanupEnd) && this.names[i] === name) {
          this.start = this.starts[i];
          this.end = this.ends[i];
          return;
        }
      }
      const colon = name.indexOf(":");
      this.start = Number(name.slice(0, colon));
      this.end = Number(name.slice(colon + 1));
    }
  }

  function copyOf(value) {
    return typeof value === "object" && value !== null ? JSON.parse(JSON.stringify(value)) : value;
  }

  // ---- configuration ----

  function describe(spec) {
    return "window operator " + JSON.stringify(String(spec.name)) + " (id " + spec.id + ")";
  }

  function checkObject(value, what, allowed, fail) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      fail(what + " must be an object, not " + JSON.stringify(value));
    }
    for (const name of Object.keys(value)) {
      if (!allowed.includes(name)) {
        fail("unknown field " + JSON.stringify(name) + " in " + what + " (known: " +
            allowed.join(", ") + ")");
      }
    }
  }

  function wholeMs(value, what, fail, { positive = true } = {}) {
    if (!Number.isSafeInteger(value) || (positive ? value <= 0 : value < 0)) {
      fail(what + " must be a " + (positive ? "positive" : "non-negative") +
          " whole number of milliseconds, not " + JSON.stringify(value));
    }
    return value;
  }

  function parseAssigner(a, fail) {
    if (a === undefined || a === null) fail("config.assigner is missing");
    if (typeof a !== "object" || Array.isArray(a)) {
      fail("config.assigner must be an object, not " + JSON.stringify(a));
    }
    switch (a.type) {
      case "tumbling": {
        checkObject(a, "config.assigner", ["type", "size", "offset"], fail);
        const size = wholeMs(a.size, "config.assigner.size", fail);
        const offset = a.offset === undefined ? 0 : parseOffset(a.offset, size, "size", fail);
        return { kind: TUMBLING, size, step: size, offset, gap: 0 };
      }
      case "sliding": {
        checkObject(a, "config.assigner", ["type", "size", "slide", "offset"], fail);
        const size = wholeMs(a.size, "config.assigner.size", fail);
        const slide = wholeMs(a.slide, "config.assigner.slide", fail);
        const offset = a.offset === undefined ? 0 : parseOffset(a.offset, slide, "slide", fail);
        return { kind: SLIDING, size, step: slide, offset, gap: 0 };
      }
      case "session": {
        checkObject(a, "config.assigner", ["type", "gap"], fail);
        return { kind: SESSION, size: 0, step: 0, offset: 0,
                 gap: wholeMs(a.gap, "config.assigner.gap", fail) };
      }
    }
    return fail("config.assigner.type must be \"tumbling\", \"sliding\" or \"session\", not " +
        JSON.stringify(a.type));
  }

  function parseOffset(offset, limit, limitName, fail) {
    if (!Number.isSafeInteger(offset) || Math.abs(offset) >= limit) {
      fail("config.assigner.offset must be a whole number of milliseconds smaller in magnitude " +
          "than the " + limitName + " (" + limit + "), not " + JSON.stringify(offset));
    }
    return offset;
  }

  function parseTrigger(t, eventTime, fail) {
    if (t === undefined) return { trigger: eventTime ? EVENT_TIME : PROCESSING_TIME, count: 0 };
    if (typeof t !== "object" || t === null) fail("config.trigger must be an object");
    switch (t.type) {
      case "event_time":
        checkObject(t, "config.trigger", ["type"], fail);
        if (!eventTime) {
          fail("the event_time trigger needs event-time windows (config.time \"event\")");
        }
        return { trigger: EVENT_TIME, count: 0 };
      case "processing_time":
        checkObject(t, "config.trigger", ["type"], fail);
        if (eventTime) {
          fail("the processing_time trigger needs processing-time windows " +
              "(config.time \"processing\")");
        }
        return { trigger: PROCESSING_TIME, count: 0 };
      case "count": {
        checkObject(t, "config.trigger", ["type", "count"], fail);
        if (!Number.isSafeInteger(t.count) || t.count <= 0) {
          fail("config.trigger.count must be a positive whole number, not " +
              JSON.stringify(t.count));
        }
        return { trigger: COUNT, count: t.count };
      }
    }
    return fail("config.trigger.type must be \"event_time\", \"processing_time\" or \"count\", " +
        "not " + JSON.stringify(t.type));
  }

  function need(fns, name, role, why, fail) {
    const fn = fns[role];
    if (typeof fn !== "function") {
      fail("config.function \"" + name + "\" needs a " + role + " function" + why);
    }
    return fn;
  }

  // The accumulator functions of config.function: first(record, n) starts a window's
  // accumulator (n: windows this record already started), add, merge, result.
  function parseFunction(name, fns, session, params, fail) {
    if (typeof fns !== "object" || fns === null) fns = {};
    switch (name) {
      case "reduce": {
        const reduce = need(fns, name, "reduce", "", fail);
        return {
          merges: true,
          first: (record, n) => (n === 0 ? record : copyOf(record)),
          add: (acc, record) => reduce(acc, record, params),
          merge: (a, b) => reduce(a, b, params),
          result: (acc) => acc,
        };
      }
      case "aggregate": {
        const create = need(fns, name, "create", "", fail);
        const add = need(fns, name, "add", "", fail);
        const merge = session
          ? need(fns, name, "merge", " (session windows merge their accumulators)", fail)
          : fns.merge;
        const result = fns.result;
        if (result !== undefined && typeof result !== "function") {
          fail("the aggregate's result must be a function");
        }
        return {
          merges: typeof merge === "function",
          first: (record) => add(create(params), record, params),
          add: (acc, record) => add(acc, record, params),
          merge: (a, b) => merge(a, b, params),
          result: result === undefined ? (acc) => acc : (acc) => result(acc, params),
        };
      }
      case "count":
        return {
          merges: true,
          first: () => 1,
          add: (n) => n + 1,
          merge: (a, b) => a + b,
          result: (n) => n,
        };
    }
    return fail("config.function must be \"reduce\", \"aggregate\" or \"count\", not " +
        (name === undefined ? "missing" : JSON.stringify(name)));
  }

  // ---- the operator ----

  class WindowOperator {
    constructor(spec, ctx) {
      const where = describe(spec);
      const fail = (message) => {
        throw new Error(where + ": " + message);
      };
      const config = spec.config === undefined || spec.config === null ? {} : spec.config;
      checkObject(config, "config", FIELDS, fail);
      const assigner = parseAssigner(config.assigner, fail);
      const time = config.time === undefined ? "event" : config.time;
      if (time !== "event" && time !== "processing") {
        fail("config.time must be \"event\" or \"processing\", not " + JSON.stringify(time));
      }
      const eventTime = time === "event";
      const { trigger, count } = parseTrigger(config.trigger, eventTime, fail);
      const lateness = config.allowedLateness === undefined ? 0
        : wholeMs(config.allowedLateness, "config.allowedLateness", fail, { positive: false });
      if (!eventTime && lateness > 0) fail("config.allowedLateness needs event-time windows");
      if (config.lateOutput !== undefined && typeof config.lateOutput !== "boolean") {
        fail("config.lateOutput must be true or false");
      }
      const fn = parseFunction(config.function, spec.fns, assigner.kind === SESSION, ctx.params,
          fail);

      this.where = where;
      this.ctx = ctx;
      this.state = ctx.state;
      this.timers = ctx.timers;
      this.kind = assigner.kind;
      this.size = assigner.size;
      this.step = assigner.step;
      this.offset = assigner.offset;
      this.gap = assigner.gap;
      this.eventTime = eventTime;
      this.trigger = trigger;
      this.count = count;
      this.lateness = lateness;
      this.lateOutput = config.lateOutput === true;
      this.first = fn.first;
      this.add = fn.add;
      this.merge = fn.merge;
      this.result = fn.result;
      this.namespaces = new Namespaces(lateness);
      // The last [bucketStart, bucketStart + step) a record fell in: most records fall in the
      // same one as the record before, and then need no remainder (a floating-point fmod).
      this.bucketStart = NaN;
      // Sliding event-time windows keep slices (see "Slices"); sliceStart caches the last one.
      this.sliced = assigner.kind === SLIDING && eventTime && trigger === EVENT_TIME && fn.merges;
      this.sliceSize = assigner.kind === SLIDING ? gcd(assigner.size, assigner.step) : 0;
      this.sliceStart = NaN;
      this.merged = 0;  // slices merged by the last mergeSlices()
      if (assigner.kind === SESSION) {
        this.onEventTimer = (timer) => this.onSessionTimer(timer);
        this.onProcessingTimer = this.onEventTimer;
      } else {
        this.onEventTimer = (timer) => this.onTimer(timer, true);
        this.onProcessingTimer = (timer) => this.onTimer(timer, false);
      }
      // The keys whose session timers fired at firedTime (see onSessionTimer).
      this.firedTime = NaN;
      this.firedKeys = new Set();
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      let time, watermark;
      if (this.eventTime) {
        if (typeof ts !== "number" || ts - ts !== 0) this.badTimestamp(ts);
        time = ts;
        watermark = this.ctx.watermark();
      } else {
        time = this.ctx.now();
        watermark = -Infinity;  // processing-time windows are never late
      }
      const accepted = this.kind === SESSION
        ? this.addToSession(keyGroup, keyString, key, record, time, watermark)
        : this.sliced ? this.addToSlices(keyGroup, keyString, key, record, time, watermark)
        : this.addToAligned(keyGroup, keyString, key, record, time, watermark);
      if (!accepted && time + this.lateness <= watermark) {
        if (this.lateOutput) {
          this.ctx.stats.lateSideOutput++;
          this.ctx.emitLate(record, ts);
        } else {
          this.ctx.stats.lateDropped++;
        }
      }
    }

    onWatermark(watermark) {
      this.firedTime = NaN;
      this.timers.advanceWatermark(watermark, this.onEventTimer);
      // At the end of input processing-time windows fire too rather than being lost.
      if (this.ending()) this.timers.advanceProcessingTime(Infinity, this.onProcessingTimer);
    }

    // The input ended: windows with elements not yet emitted fire at cleanup. Derived from the
    // watermark rather than kept, so that the operator holds nothing outside ctx.state and
    // ctx.timers.
    ending() {
      return this.ctx.watermark() === Infinity;
    }

    onProcessingTime(now) {
      this.firedTime = NaN;
      this.timers.advanceProcessingTime(now, this.onProcessingTimer);
    }

    badTimestamp(ts) {
      if (ts === undefined || ts === null) {
        throw new Error(this.where + ": a record has no event time: use assignTimestamps " +
            "before the window");
      }
      throw new Error(this.where + ": a record's event time must be a finite number " +
          "(epoch milliseconds), not " + String(ts));
    }

    // Tumbling and sliding windows: the record goes into each of its windows that is not late.
    // Returns false when it went into none.
    addToAligned(keyGroup, keyString, key, record, time, watermark) {
      const size = this.size, step = this.step, lateness = this.lateness;
      let ws;
      let created = 0;
      // Latest start first, as Flink's assigners; earlier windows end earlier, so the first late
      // one ends the loop.
      let start = this.bucketStart;
      if (!(time >= start && time < start + step)) {
        start = windowStart(time, this.offset, step);
        this.bucketStart = start;
      }
      for (; start > time - size; start -= step) {
        const end = start + size;
        if (end - 1 + lateness <= watermark) break;
        if (ws === undefined) {
          ws = this.state.get(keyGroup, keyString);
          if (ws === undefined) ws = [];
        }
        let i = indexOfWindow(ws, start, end);
        if (i < 0) {
          i = ws.length;
          ws.push(start, end, this.first(record, created++), 0);
          this.registerTimers(keyGroup, keyString, key, start, end, watermark);
        } else {
          ws[i + 2] = this.add(ws[i + 2], record);
        }
        this.onElementAdded(ws, i, key, watermark);
      }
      if (ws === undefined) return false;
      this.state.put(keyGroup, keyString, ws);
      return true;
    }

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
    }

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
    }

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
    }

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
    }

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
    }

    // Session windows: [time, time + gap) merges with every window of the key it intersects.
    addToSession(keyGroup, keyString, key, record, time, watermark) {
      let start = time, end = time + this.gap;
      let ws = this.state.get(keyGroup, keyString);
      if (ws === undefined) ws = [];
      let hits = 0, hit = -1;
      for (let i = 0; i < ws.length; i += STRIDE) {
        if (ws[i] <= end && ws[i + 1] >= start) {
          hits++;
          hit = i;
        }
      }
      let i;
      if (hits === 0) {
        // Alone, the new window can be late; merged with an existing one it cannot (that one's
        // cleanup timer has not fired).
        if (end - 1 + this.lateness <= watermark) return false;
        i = ws.length;
        ws.push(start, end, this.first(record, 0), 0);
        this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
      } else if (hits === 1) {
        // The common way a session grows: one window, extended. Its timer stays (see "Session
        // timers"), unless its trigger fired and the new end is due again.
        i = hit;
        const oldEnd = ws[i + 1];
        if (start < ws[i]) ws[i] = start;
        if (end > oldEnd) {
          ws[i + 1] = end;
          if (this.trigger !== COUNT && oldEnd - 1 <= watermark && end - 1 > watermark) {
            this.registerSessionTimer(keyGroup, keyString, key, end - 1);
          }
        }
        ws[i + 2] = this.add(ws[i + 2], record);
      } else {
        // Merge the windows it touches, in order of start, into one.
        const merged = [];
        const kept = [];
        for (let j = 0; j < ws.length; j += STRIDE) {
          const into = ws[j] <= end && ws[j + 1] >= start ? merged : kept;
          into.push(ws[j], ws[j + 1], ws[j + 2], ws[j + 3]);
        }
        const order = [];
        for (let j = 0; j < merged.length; j += STRIDE) order.push(j);
        order.sort((a, b) => merged[a] - merged[b]);
        let acc, pending = 0;
        for (let n = 0; n < order.length; n++) {
          const j = order[n];
          start = Math.min(start, merged[j]);
          end = Math.max(end, merged[j + 1]);
          acc = n === 0 ? merged[j + 2] : this.merge(acc, merged[j + 2]);
          pending += merged[j + 3];
        }
        ws = kept;
        i = ws.length;
        ws.push(start, end, this.add(acc, record), pending);
        // The merged windows' timers stay (each at or before its window's due time, so at or
        // before the merged one's), except that the merged window may be due again.
        this.registerSessionTimer(keyGroup, keyString, key, this.sessionDue(end, watermark));
      }
      this.onElementAdded(ws, i, key, watermark);
      this.state.put(keyGroup, keyString, ws);
      return true;
    }

    // The trigger's onElement for window ws[i] after the record went in.
    onElementAdded(ws, i, key, watermark) {
      if (this.trigger === EVENT_TIME) {
        // The watermark passed the window but not its cleanup time: a late firing.
        if (ws[i + 1] - 1 <= watermark) this.emitWindow(key, ws[i], ws[i + 1], ws[i + 2], true);
      } else if (this.trigger === COUNT) {
        const pending = ws[i + 3] + 1;
        if (pending >= this.count) {
          ws[i + 3] = 0;
          this.emitWindow(key, ws[i], ws[i + 1], ws[i + 2], true);
        } else {
          ws[i + 3] = pending;
        }
      }
    }

    cleanupTime(end) {
      return this.eventTime ? end - 1 + this.lateness : end - 1;
    }

    registerTimers(keyGroup, keyString, key, start, end, watermark) {
      const namespace = this.namespaces.of(start, end);
      const fireAt = end - 1, cleanupAt = this.cleanupTime(end);
      const timers = this.timers;
      if (this.trigger === EVENT_TIME) {
        if (fireAt > watermark) {
          timers.registerEventTimeTimer(fireAt, keyGroup, keyString, key, namespace);
        }
      } else if (this.trigger === PROCESSING_TIME) {
        timers.registerProcessingTimeTimer(fireAt, keyGroup, keyString, key, namespace);
      }
      if (this.eventTime) {
        if (this.trigger !== EVENT_TIME || cleanupAt !== fireAt) {
          timers.registerEventTimeTimer(cleanupAt, keyGroup, keyString, key, namespace);
        }
      } else if (this.trigger !== PROCESSING_TIME) {
        timers.registerProcessingTimeTimer(cleanupAt, keyGroup, keyString, key, namespace);
      }
    }

    // The first time after `after` at which a session ending at `end` is due: its end - 1 while
    // its time trigger has not fired, then its cleanup time.
    sessionDue(end, after) {
      return this.trigger !== COUNT && end - 1 > after ? end - 1 : this.cleanupTime(end);
    }

    registerSessionTimer(keyGroup, keyString, key, time) {
      if (this.eventTime) {
        this.timers.registerEventTimeTimer(time, keyGroup, keyString, key, "");
      } else {
        this.timers.registerProcessingTimeTimer(time, keyGroup, keyString, key, "");
      }
    }

    // A timer of a key's sessions (in the operator's time domain): the sessions due at its time
    // fire or are cleaned up, the others register a timer at their due time. A key has one
    // session timer per time, but a checkpoint taken before session timers had the namespace ""
    // holds timers "start:end" for the trigger and cleanup of each window, which may share a
    // time with another: firedKeys handles a key once per time.
    onSessionTimer(timer) {
      const time = timer.time, keyGroup = timer.keyGroup, keyString = timer.keyString;
      if (time !== this.firedTime) {
        this.firedTime = time;
        this.firedKeys.clear();
      }
      if (this.firedKeys.has(keyString)) return;
      this.firedKeys.add(keyString);
      const ws = this.state.get(keyGroup, keyString);
      if (ws === undefined) return;
      let removed = false;
      for (let i = 0; i < ws.length;) {
        const start = ws[i], end = ws[i + 1];
        const cleanup = time === this.cleanupTime(end);
        const fires = this.trigger !== COUNT ? time === end - 1
          : cleanup && this.ending() && ws[i + 3] > 0;
        if (fires) this.emitWindow(timer.key, start, end, ws[i + 2], !cleanup);
        if (cleanup) {
          removeWindow(ws, i);
          removed = true;
        } else {
          this.registerSessionTimer(keyGroup, keyString, timer.key, this.sessionDue(end, time));
          i += STRIDE;
        }
      }
      if (!removed) return;
      if (ws.length === 0) {
        this.state.delete(keyGroup, keyString);
      } else {
        this.state.put(keyGroup, keyString, ws);
      }
    }

    // A trigger or cleanup timer of one tumbling or sliding window of one key.
    onTimer(timer, eventDomain) {
      this.namespaces.parse(timer.namespace, timer.time);
      const start = this.namespaces.start, end = this.namespaces.end;
      const ws = this.state.get(timer.keyGroup, timer.keyString);
      if (ws === undefined) return;
      if (ws[0] === SLICES) {
        if (eventDomain) this.onSliceTimer(timer, start, end, ws);
        return;
      }
      const i = indexOfWindow(ws, start, end);
      if (i < 0) return;
      const fireAt = end - 1;
      const cleanup = eventDomain === this.eventTime && timer.time === this.cleanupTime(end);
      const fires = timer.time === fireAt &&
                      this.trigger === (eventDomain ? EVENT_TIME : PROCESSING_TIME) ||
                    cleanup && this.trigger === COUNT && this.ending() && ws[i + 3] > 0;
      // A sliding window's accumulator may be another window's too (a reduce that returns the
      // record): while other windows stay, what goes downstream is a copy.
      const shared = this.kind === SLIDING && ws.length > STRIDE;
      if (fires) this.emitWindow(timer.key, start, end, ws[i + 2], !cleanup || shared);
      if (!cleanup) return;
      if (ws.length === STRIDE) {
        this.state.delete(timer.keyGroup, timer.keyString);
      } else {
        removeWindow(ws, i);
        this.state.put(timer.keyGroup, timer.keyString, ws);
      }
    }

    // keep: the window stays open after this firing, so the emitted value must be a copy.
    emitWindow(key, start, end, acc, keep) {
      const value = this.result(acc);
      this.ctx.emit({ key, window: { start, end }, value: keep ? copyOf(value) : value }, end - 1);
    }
  }

  function make(spec, ctx) {
    if (spec.kind !== "window") {
      throw new Error(describe(spec) + ": windows.js makes \"window\" operators, not " +
          JSON.stringify(spec.kind));
    }
    return new WindowOperator(spec, ctx);
  }

  return Object.freeze({ make });
})();
