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
// (the same timer when they are equal). Timers of session windows: see window_sessions.js.
// Window end timers: with the event-time trigger in event time (tumbling and sliding windows,
// allowed lateness 0 or not a multiple of the slide, so that a time is one window's trigger or
// cleanup time), the operator keeps its event-time timers itself (window_slices.js, EndTimers:
// per time the keys, in arrays), not in ctx.timers: registering one is three array pushes, not
// an object and Map entries. They fire in the order ctx.timers would fire them: by time, and at
// one time after those in ctx.timers (restored from a checkpoint taken before the operator kept
// its own, so registered before), each time's keys in registration order.
// Processing-time tumbling and sliding windows (whatever the trigger) keep their one
// processing-time timer per key and window (at end - 1) likewise, in an EndTimers of kind
// "processing_end", fired when the wall clock passes it (onProcessingTime, and at the end of
// input) in the order ctx.timers would: at one time after ctx.timers' processing-time timers.
// Event-time session windows keep theirs likewise (window_sessions.js, SessionTimers: a heap).
// The operator's timers are adopted by ctx.timers (ctx.timers.adopt), whose checkpoints write
// them incrementally, by key group, and whose restore gives them back in their order
// (timers.js, "Own timers"). Nothing else lives in the operator between calls, so ctx.state and
// ctx.timers are its whole snapshot.
//
// The operator is split over four scripts of this folder: window_config.js (configuration and
// shared helpers), window_slices.js (sliding windows in slices; window end timers and their
// firing), window_sessions.js (session windows) and this one (the operator, tumbling and sliding
// window lists, timers, firing). make() takes the first three from ctx.runtime ({ window_config,
// window_slices, window_sessions }, as the chain's driver passes its runtime libraries) and
// installs the slice and session methods on the operator's prototype once.
//
// Accumulators are stored as they are: a reduce window's first accumulator is its first record.
// User functions may change and return their first argument (the accumulator) but must not
// change the record. A value that is emitted while its window stays open is a copy, so what
// happens downstream cannot change the state.
//
// The script's completion value is a frozen object { make }.
(function () {
  "use strict";

  function indexOfWindow(ws, start, end) {
    for (let i = 0; i < ws.length; i += STRIDE) {
      if (ws[i] === start && ws[i + 1] === end) return i;
    }
    return -1;
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


  // window_config.js's constants, as constants here too (the hot paths compare with them);
  // install() checks that they are the same.
  const STRIDE = 4, SLICES = "slices";
  const TUMBLING = 0, SLIDING = 1, SESSION = 2, EVENT_TIME = 0, PROCESSING_TIME = 1, COUNT = 2;
  // window_config.js and its helpers (set by install()).
  let C = null;
  let windowStart = null, copyOf = null, removeWindow = null, EndTimers = null;
  let SessionTimers = null;

  class WindowOperator {
    constructor(spec, ctx) {
      const c = C.parse(spec, ctx);
      this.where = c.where;
      this.ctx = ctx;
      this.state = ctx.state;
      this.timers = ctx.timers;
      this.kind = c.kind;
      this.size = c.size;
      this.step = c.step;
      this.offset = c.offset;
      this.gap = c.gap;
      this.eventTime = c.eventTime;
      this.trigger = c.trigger;
      this.count = c.count;
      this.lateness = c.lateness;
      this.lateOutput = c.lateOutput;
      this.first = c.first;
      this.add = c.add;
      this.merge = c.merge;
      this.result = c.result;
      this.firstPartial = (acc, n) => (n === 0 ? acc : copyOf(acc));
      this.namespaces = new Namespaces(c.lateness);
      // same one as the record before, and then need no remainder (a floating-point fmod).
      this.bucketStart = NaN;
      // Sliding event-time windows keep slices (window_slices.js); sliceStart caches the last one.
      this.sliced = c.kind === SLIDING && c.eventTime && c.trigger === EVENT_TIME && c.merges;
      this.sliceSize = c.kind === SLIDING ? C.gcd(c.size, c.step) : 0;
      this.sliceStart = NaN;
      // Event-time tumbling windows with the event-time trigger take processElement's fast path
      // (a boolean, tested with `=== true`: see state.js's `dirty`).
      this.tumblingFast = c.kind === TUMBLING && c.eventTime && c.trigger === EVENT_TIME;
      // Their fast path's bucket (addFast): none yet.
      this.fastFrom = Infinity;
      this.fastTo = -Infinity;
      // ctx.state has state.js's dirtyEntry (a test's may not).
      this.dirtyEntries = typeof this.state.dirtyEntry === "function";
      this.merged = 0;  // slices merged by the last mergeSlices()
      // Event-time sessions with the event-time trigger, and processing-time tumbling windows
      // with the processing-time trigger, take processElement's fast paths (booleans, tested
      // with `=== true`).
      this.sessionFast = c.kind === SESSION && c.eventTime && c.trigger === EVENT_TIME;
      this.processingFast = c.kind === TUMBLING && !c.eventTime && c.trigger === PROCESSING_TIME;
      if (c.kind === SESSION) {
        this.onEventTimer = (timer) => this.onSessionTimer(timer);
        this.onProcessingTimer = this.onEventTimer;
      } else {
        this.onEventTimer = (timer) => this.onTimer(timer, true);
        this.onProcessingTimer = (timer) => this.onTimer(timer, false);
      }
      // The keys whose session timers fired at firedTime: the first, the others (see
      // onSessionTimer).
      this.firedTime = NaN;
      this.firedKey = "";
      this.firedKeys = new Set();
      // Window end timers (see the top), and the one timer object their firings reuse.
      const lateness = c.lateness;
      this.endTimers = c.kind !== SESSION && c.eventTime && c.trigger === EVENT_TIME &&
          Number.isFinite(lateness) && (lateness === 0 || lateness % c.step !== 0)
        ? new EndTimers() : null;
      this.endTimer = { time: 0, keyGroup: 0, keyString: "", key: undefined, namespace: "" };
      // Processing-time tumbling and sliding windows: their one processing-time timer per key
      // and window (trigger and cleanup at end - 1, whatever the trigger) likewise.
      this.processingTimers = c.kind !== SESSION && !c.eventTime
        ? new EndTimers("processing_end") : null;
      // Event-time session timers (window_sessions.js, SessionTimers).
      this.sessionTimers = c.kind === SESSION && c.eventTime ? new SessionTimers() : null;
      // The own event-time timers (onWatermark fires them); an operator has one store at most.
      this.ownTimers = this.endTimers !== null ? this.endTimers : this.sessionTimers;
      const own = this.ownTimers !== null ? this.ownTimers : this.processingTimers;
      // Checkpoints write them directly (timers.js, "Own timers"), and a restore gives them back.
      this.timers.adopt(own, own === null || own === this.sessionTimers ? "session" : own.kind,
                        C.ownTimers);
    }

    // The fast path of event-time tumbling windows (processElement's first lines; the chain's
    // driver takes it itself, without the call to processElement): a record whose event time is
    // in [fastFrom, fastTo) — the window of the record before, which has not fired while
    // fastTo - 1 > watermark (so the record is not late and fires nothing) — and whose key's
    // first window is that window is added to it: addFast returns true. Exactly what
    // addToAligned would do, with fewer calls. Otherwise it returns false having changed
    // nothing, and the record takes the general path. fastFrom and fastTo are the last bucket
    // addToAligned saw, [+Infinity, -Infinity) for windows without the fast path.
    addFast(keyGroup, keyString, record) {
      if (this.dirtyEntries === true) {  // the state cache's entry, changed in place (state.js)
        const entry = this.state.dirtyEntry(keyGroup, keyString);
        if (entry !== undefined) {
          const ws = entry.value;
          if (ws === undefined || ws[0] !== this.fastFrom || ws[1] !== this.fastTo) return false;
          ws[2] = this.add(ws[2], record);
          return true;
        }
      }
      const ws = this.state.get(keyGroup, keyString);
      if (ws === undefined || ws[0] !== this.fastFrom || ws[1] !== this.fastTo) return false;
      ws[2] = this.add(ws[2], record);
      this.state.put(keyGroup, keyString, ws);
      return true;
    }

    // Most records of event-time sessions extend their key's one session, which has not
    // fired: what addToSession's common case does, without the call. Anything else (no
    // session, several, one the record does not meet, or one whose end the watermark passed)
    // returns false having changed nothing, and takes addToSession, which reads the key's state
    // again (the state cache's last entry). (processElement's fast paths are methods of their
    // own: inline there, they made it too large for V8 to inline what the others call.)
    addSessionFast(keyGroup, keyString, record, ts) {
      if (typeof ts !== "number" || ts - ts !== 0) return false;
      const ws = this.state.get(keyGroup, keyString);
      if (ws === undefined || ws.length !== STRIDE) return false;
      const end = ts + this.gap, oldEnd = ws[1];
      if (!(ws[0] <= end && oldEnd >= ts && oldEnd - 1 > this.ctx.watermark())) return false;
      // Not fired, and extended it fires no sooner: no timer, no late firing.
      if (ts < ws[0]) ws[0] = ts;
      if (end > oldEnd) ws[1] = end;
      ws[2] = this.add(ws[2], record);
      this.state.put(keyGroup, keyString, ws);
      return true;
    }

    // Processing-time tumbling windows: a record of the current window whose key's first
    // window it is goes into it (the processing-time trigger does nothing on elements, and
    // such windows are never late); any other record of the current window is addToAligned's,
    // with the state read. False (nothing done) for a record of another window.
    addProcessingFast(keyGroup, keyString, key, record) {
      const time = this.ctx.now(), start = this.bucketStart, end = start + this.size;
      if (!(time >= start && time < end)) return false;
      const ws = this.state.get(keyGroup, keyString);
      if (ws !== undefined && ws[0] === start && ws[1] === end) {
        ws[2] = this.add(ws[2], record);
        this.state.put(keyGroup, keyString, ws);
      } else {
        this.addToAligned(keyGroup, keyString, key, record, time, -Infinity, true, ws);
      }
      return true;
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      if (typeof ts === "number" && ts >= this.fastFrom && ts < this.fastTo &&
          this.fastTo - 1 > this.ctx.watermark() && this.addFast(keyGroup, keyString, record)) {
        return;
      }
      if (this.sessionFast === true && this.addSessionFast(keyGroup, keyString, record, ts)) {
        return;
      }
      if (this.processingFast === true &&
          this.addProcessingFast(keyGroup, keyString, key, record)) {
        return;
      }
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

    // A partial accumulator from a combiner upstream (combiner.js): merged where the records it
    // folded would have been added, with the event time of its first record (never late there).
    // A session run's partial (count) has an `end`: its records' session [ts, end), merged as one
    // window where theirs would have been.
    processPartial(keyGroup, keyString, key, acc, ts, end) {
      const first = this.first, add = this.add;
      this.first = this.firstPartial;
      this.add = this.merge;
      try {
        if (end === undefined) {
          this.processElement(0, keyGroup, keyString, key, acc, ts);
        } else {
          this.processRun(keyGroup, keyString, key, acc, ts, end);
        }
      } finally {
        this.first = first;
        this.add = add;
      }
    }

    // A session run [start, end) (processPartial). The combiner sends only runs whose end is
    // after every watermark this operator can have, so a run is never late; one that is (a
    // combiner that broke that promise) is an error rather than records lost without a trace.
    processRun(keyGroup, keyString, key, acc, start, end) {
      if (this.kind !== SESSION || !this.eventTime) {
        throw new Error(this.where + ": a session run's partial (from a combiner) reached " +
            "windows that are not event-time sessions");
      }
      if (typeof start !== "number" || start - start !== 0) this.badTimestamp(start);
      if (typeof end !== "number" || !(end > start) || end - end !== 0) {
        throw new Error(this.where + ": a session run's partial has a bad end " + String(end) +
            " (start " + start + ")");
      }
      const watermark = this.ctx.watermark();
      if (!this.addToSession(keyGroup, keyString, key, acc, start, watermark, end)) {
        throw new Error(this.where + ": a session run's partial [" + start + ", " + end +
            ") arrived late (watermark " + watermark + ")");
      }
    }

    onWatermark(watermark) {
      this.firedTime = NaN;
      if (this.ownTimers !== null) {
        this.fireOwnTimers(watermark);
      } else {
        this.timers.advanceWatermark(watermark, this.onEventTimer);
      }
      // At the end of input processing-time windows fire too rather than being lost.
      if (this.ending()) this.fireProcessing(Infinity);
    }

    // The input ended: windows with elements not yet emitted fire at cleanup. Derived from the
    // watermark rather than kept, so that the operator holds nothing outside ctx.state and
    // ctx.timers.
    ending() {
      return this.ctx.watermark() === Infinity;
    }

    // The operator's own event-time timers and ctx.timers' up to the watermark, one time at a
    // time: at each, ctx.timers' first (restored from a checkpoint taken before the operator
    // kept its own, so registered before them), then the operator's own in registration order.
    // Firing may register timers (sessions), also at times before the watermark: each round
    // looks again.
    fireOwnTimers(watermark) {
      const own = this.ownTimers, timers = this.timers;
      for (;;) {
        const ownNext = own.count > 0 ? own.next() : Infinity;
        const theirNext = timers.nextEventTime();
        const time = ownNext < theirNext ? ownNext : theirNext;
        if (!(time <= watermark)) return;
        if (theirNext === time) timers.advanceWatermark(time, this.onEventTimer);
        if (own.count > 0 && own.next() === time) {
          if (own === this.endTimers) {
            this.fireEndTimers(own.shift(), true);
          } else {
            while (own.count > 0 && own.next() === time) this.onSessionTimer(own.shift());
          }
        }
        // At time Infinity (the end of input) both fired everything, also what they registered
        // meanwhile (their own times are Infinity too).
        if (time === Infinity) return;
      }
    }

    // Live timers: ctx.timers' and the operator's own, as many as a checkpoint would hold now
    // (one per time, key and namespace). For tests: it copies every timer.
    get timerCount() {
      if (this.sessionTimers === null) {
        const own = this.endTimers !== null ? this.endTimers : this.processingTimers;
        return this.timers.size + (own === null ? 0 : own.count);
      }
      const all = new this.timers.constructor();
      all.restore(this.timers.snapshot());
      for (const t of this.sessionTimers.sorted()) {
        all.registerEventTimeTimer(t.time, t.keyGroup, t.keyString, t.key, "");
      }
      return all.size;
    }

    onProcessingTime(now) {
      this.firedTime = NaN;
      this.fireProcessing(now);
    }

    // Processing-time timers at or before `now`: the operator's own and ctx.timers' (window
    // end timers, window_slices.js), or ctx.timers' alone.
    fireProcessing(now) {
      if (this.processingTimers !== null) this.fireProcessingTimers(now);
      else this.timers.advanceProcessingTime(now, this.onProcessingTimer);
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
    // Returns false when it went into none. isRead: processElement read the key's state already
    // (`read`, possibly undefined).
    addToAligned(keyGroup, keyString, key, record, time, watermark, isRead, read) {
      const size = this.size, step = this.step, lateness = this.lateness;
      let ws;
      let created = 0;
      // Latest start first, as Flink's assigners; earlier windows end earlier, so the first late
      // one ends the loop.
      let start = this.bucketStart;
      if (!(time >= start && time < start + step)) {
        start = windowStart(time, this.offset, step);
        this.bucketStart = start;
        if (this.tumblingFast === true) {
          this.fastFrom = start;
          this.fastTo = start + size;
        }
      }
      for (; start > time - size; start -= step) {
        const end = start + size;
        if (end - 1 + lateness <= watermark) break;
        if (ws === undefined) {
          ws = isRead === true ? read : this.state.get(keyGroup, keyString);
          if (ws === undefined) {
            // A key without windows: its list made at its size (push() on an empty array leaves
            // room for ~20 elements, all of it kept as long as the key's windows live).
            ws = [start, end, this.first(record, created++), 0];
            this.registerTimers(keyGroup, keyString, key, start, end, watermark);
            this.onElementAdded(ws, 0, key, watermark);
            continue;
          }
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
      const fireAt = end - 1, cleanupAt = this.cleanupTime(end);
      const endTimers = this.endTimers;
      if (endTimers !== null) {  // event time, event-time trigger: as below
        if (fireAt > watermark) endTimers.add(fireAt, start, end, keyGroup, keyString, key);
        if (cleanupAt !== fireAt) endTimers.add(cleanupAt, start, end, keyGroup, keyString, key);
        return;
      }
      if (this.processingTimers !== null) {  // processing time: trigger and cleanup at end - 1
        this.processingTimers.add(fireAt, start, end, keyGroup, keyString, key);
        return;
      }
      // Event time with the count trigger, or with the event-time trigger and a lateness that
      // makes a time two windows': in ctx.timers (the trigger timer when the watermark has not
      // passed it, and the cleanup timer, one timer when they are the same).
      const namespace = this.namespaces.of(start, end);
      const timers = this.timers;
      if (this.trigger === EVENT_TIME && fireAt > watermark) {
        timers.registerEventTimeTimer(fireAt, keyGroup, keyString, key, namespace);
      }
      if (this.trigger !== EVENT_TIME || cleanupAt !== fireAt) {
        timers.registerEventTimeTimer(cleanupAt, keyGroup, keyString, key, namespace);
      }
    }

    // A trigger or cleanup timer of one tumbling or sliding window of one key.
    onTimer(timer, eventDomain) {
      this.namespaces.parse(timer.namespace, timer.time);
      this.onWindowTimer(timer, eventDomain, this.namespaces.start, this.namespaces.end);
    }

    // A trigger or cleanup timer of window [start, end) of one key (timer: { time, keyGroup,
    // keyString, key }).
    onWindowTimer(timer, eventDomain, start, end) {
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
      throw new Error("window operator " + JSON.stringify(String(spec.name)) + " (id " + spec.id +
          "): windows.js makes \"window\" operators, not " + JSON.stringify(spec.kind));
    }
    if (C === null) install(ctx.runtime);
    return new WindowOperator(spec, ctx);
  }

  function install(runtime) {
    const parts = runtime === undefined || runtime === null ? {} : runtime;
    for (const name of ["window_config", "window_slices", "window_sessions"]) {
      if (parts[name] === undefined) {
        throw new Error("windows.js needs the runtime library " + name + " (ctx.runtime." + name +
            ")");
      }
    }
    const config = parts.window_config;
    const same = { STRIDE, TUMBLING, SLIDING, SESSION, EVENT_TIME, PROCESSING_TIME, COUNT };
    for (const name of Object.keys(same)) {
      if (config[name] !== same[name]) {
        throw new Error("windows.js and window_config.js disagree on " + name);
      }
    }
    if (parts.window_slices.SLICES !== SLICES) {
      throw new Error("windows.js and window_slices.js disagree on SLICES");
    }
    ({ windowStart, copyOf, removeWindow } = config);
    EndTimers = parts.window_slices.EndTimers;
    SessionTimers = parts.window_sessions.SessionTimers;
    parts.window_slices.install(WindowOperator.prototype, config);
    parts.window_sessions.install(WindowOperator.prototype, config);
    C = config;
  }

  return Object.freeze({ make });
})();
