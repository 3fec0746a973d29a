// Keyed joins of two inputs (input 0 = left, input 1 = right) on event time; see README.md,
// "Keyed operators", for spec and ctx.
//
// kind "window_join", config { assigner }: tumbling { type, size, offset? }, sliding { type, size,
// slide, offset? } or session { type, gap } windows, [start, end) in ms aligned to the epoch plus
// the offset (Flink's TimeWindow.getWindowStartWithOffset), as windows.js aligns them. When the watermark reaches end - 1, every
// (left, right) pair of the key in the window goes to fns.apply(left, right, { start, end },
// params), left-major in arrival order; what it returns is emitted with ts = end - 1 (undefined
// emits nothing) and the window's state is deleted. A record whose windows have all fired
// already is dropped and counted in ctx.stats.lateDropped. Session windows merge as Flink's
// do: windows that overlap or touch ([0,10) and [10,20)) become one.
//
// kind "interval_join", config { lower, upper } (ms, lower <= upper, either may be negative):
// left l and right r of one key join when l.ts + lower <= r.ts <= l.ts + upper. The pair is
// emitted as fns.apply(l, r, params) with ts = max(l.ts, r.ts) when its second record arrives;
// the buffered partners are visited in event-time order (ties in arrival order). A left record
// is kept until the watermark reaches ts + upper, a right one until it reaches ts - lower; a
// record that would be removed on arrival is dropped and counted in ctx.stats.lateDropped.
//
// State: one entry per key, (keyGroup, keyString) ->
//   window_join, tumbling/sliding: [start, nLefts, nRights, left..., right..., start, ...],
//                                   the key's open windows (before: [[start, lefts, rights],
//                                   ...] or [start, lefts, rights, ...], still read)
//   window_join, session:          { next, sessions: [{ start, end, left: [[seq, record]...],
//                                      right: [...] }] }, seq numbering arrivals
//   interval_join:                 [lefts, rights], each [[ts, record]...] sorted by ts
// Timers: tumbling and sliding windows, one per key and window at end - 1, kept by the operator
// (window_slices.js's EndTimers: per time the keys, in arrays; checkpointed through
// ctx.timers.adopt as timers.js's "Own timers", kind "end") when ctx.runtime has the window
// libraries, else ctx.timers' (namespace "start:end"); sessions, one per key and session
// (namespace "start:end"); for the interval join one per key and side (namespace "L" or "R"),
// at the side's earliest removal.
//
// The script's completion value is a frozen object { make }.
(function () {
  "use strict";

  const SIDE_NAMES = ["left", "right"];

  function describe(spec) {
    return "operator '" + spec.name + "' (" + spec.id + ")";
  }

  function configError(spec, message) {
    return new TypeError(describe(spec) + ": " + spec.kind + " " + message);
  }

  function requireApply(spec) {
    const apply = spec.fns === undefined ? undefined : spec.fns.apply;
    if (typeof apply !== "function") throw configError(spec, "needs a function 'apply'");
    return apply;
  }

  function checkInput(spec, input, ts) {
    if (input !== 0 && input !== 1) {
      throw new RangeError(describe(spec) + ": a join has inputs 0 (left) and 1 (right), not " +
          input);
    }
    if (typeof ts !== "number" || !Number.isFinite(ts)) {
      throw new TypeError(describe(spec) + ": " + spec.kind + " needs event time, but a record " +
          "on input " + input + " (" + SIDE_NAMES[input] + ") has no timestamp (" + ts +
          "); assign timestamps before the join");
    }
  }

  function positiveNumber(spec, name, value) {
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw configError(spec, "config " + name + " must be a positive number of ms, not " +
          JSON.stringify(value));
    }
    return value;
  }

  function finiteNumber(spec, name, value) {
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw configError(spec, "config " + name + " must be a number of ms, not " +
          JSON.stringify(value));
    }
    return value;
  }

  // The start of the window of `size` (or of the slide) that holds ts, aligned to the epoch.
  // The start of the window of `size` (aligned to the epoch plus `offset`) that holds ts; the
  // same rule as windows.js.
  function windowStart(ts, offset, size) {
    const remainder = (ts - offset) % size;
    return remainder < 0 ? ts - (remainder + size) : ts - remainder;
  }

  // A tumbling or sliding assigner's offset: a whole number of ms smaller in magnitude than the
  // step (the size, or the slide); the rule and the words of windows.js's parseOffset.
  function offsetOf(spec, assigner, step, stepName) {
    const offset = assigner.offset === undefined ? 0 : assigner.offset;
    if (!Number.isSafeInteger(offset) || Math.abs(offset) >= step) {
      throw configError(spec, "config.assigner.offset must be a whole number of milliseconds " +
          "smaller in magnitude than the " + stepName + " (" + step + "), not " +
          JSON.stringify(assigner.offset));
    }
    return offset;
  }

  function windowOf(namespace) {
    const colon = namespace.indexOf(":");
    return Object.freeze({ start: Number(namespace.slice(0, colon)),
                           end: Number(namespace.slice(colon + 1)) });
  }

  // Calls apply for every pair, left-major, and emits what it returns.
  function emitPairs(join, lefts, rights, window, leftOf, rightOf) {
    const ts = window.end - 1;
    for (let i = 0; i < lefts.length; i++) {
      const left = leftOf(lefts[i]);
      for (let j = 0; j < rights.length; j++) {
        const out = join.apply(left, rightOf(rights[j]), window, join.params);
        if (out !== undefined) join.ctx.emit(out, ts);
      }
    }
  }

  const second = (pair) => pair[1];

  // Tumbling and sliding windows: a record goes into each of its windows. The key's entry is
  // one array, [start, nLefts, nRights, left..., right..., start, ...]: per open window its
  // start, how many records of each side it holds and the records, each side in arrival order.
  // While it is short it is made anew at its exact length for each record (most keys hold a
  // few), so that a key's window is two objects and its records, nothing more. Entries of
  // checkpoints taken before, [[start, lefts, rights], ...] or [start, lefts, rights, ...], are
  // read as well and written packed. With the window libraries in ctx.runtime (window_slices'
  // EndTimers, in the format of window_config's ownTimers, as the chain's driver passes them)
  // the operator keeps its window end timers itself: per end - 1 the keys, in arrays, fired in
  // registration order, one bucket for all keys of the task; without them (a ctx that has no
  // runtime), and for timers restored from a checkpoint taken before, they are ctx.timers'
  // (namespace "start:end"). At one time ctx.timers' fire first: they were registered before.
  class FixedWindowJoin {
    constructor(spec, ctx, size, slide, offset) {
      this.spec = spec;
      this.ctx = ctx;
      this.state = ctx.state;
      this.params = ctx.params;
      this.apply = requireApply(spec);
      this.size = size;
      this.slide = slide;
      this.offset = offset;
      this.fire = (timer) => this.fireWindow(timer);
      // The start of the slide that held the last record's time (its windows' latest start).
      this.lastStart = NaN;
      const rt = ctx.runtime;
      this.endTimers = rt !== undefined && rt.window_slices !== undefined &&
          rt.window_config !== undefined ? new rt.window_slices.EndTimers() : null;
      if (this.endTimers !== null) {
        ctx.timers.adopt(this.endTimers, "end", rt.window_config.ownTimers);
      }
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      checkInput(this.spec, input, ts);
      const watermark = this.ctx.watermark();
      const size = this.size, slide = this.slide;
      let last = this.lastStart;
      if (!(ts >= last && ts < last + slide)) {
        last = windowStart(ts, this.offset, slide);
        this.lastStart = last;
      }
      let ws;  // the key's open windows, read when the record has a window to go to
      let late = false;
      for (let start = last; start > ts - size; start -= slide) {
        const end = start + size;
        if (end - 1 <= watermark) {  // fired already
          late = true;
          continue;
        }
        if (ws === undefined) {
          ws = this.state.get(keyGroup, keyString);
          if (ws === undefined) {  // the key's first window: its entry as long as it holds
            ws = input === 0 ? [start, 1, 0, record] : [start, 0, 1, record];
            this.registerTimer(end - 1, start, end, keyGroup, keyString, key);
            continue;
          }
          if (typeof ws[1] !== "number") ws = packed(ws);
        }
        let i = 0;
        while (i < ws.length && ws[i] !== start) i += 3 + ws[i + 1] + ws[i + 2];
        if (i === ws.length) {
          ws.push(start, 1 - input, input, record);
          this.registerTimer(end - 1, start, end, keyGroup, keyString, key);
        } else {
          // After the window's lefts (input 0) or rights (1).
          const at = i + 3 + ws[i + 1] + (input === 0 ? 0 : ws[i + 2]);
          ws = insert(ws, at, record);
          ws[i + 1 + input]++;
        }
      }
      if (ws !== undefined) this.state.put(keyGroup, keyString, ws);
      else if (late) this.ctx.stats.lateDropped++;
      // else: a sliding window's slide exceeds its size and ts falls between two windows
    }

    registerTimer(time, start, end, keyGroup, keyString, key) {
      if (this.endTimers !== null) {
        this.endTimers.add(time, start, end, keyGroup, keyString, key);
      } else {
        this.ctx.timers.registerEventTimeTimer(time, keyGroup, keyString, key, start + ":" + end);
      }
    }

    // A timer of ctx.timers (namespace "start:end").
    fireWindow(timer) {
      const window = windowOf(timer.namespace);
      this.fireKey(timer.keyGroup, timer.keyString, window);
    }

    // Window `window` of a key: its pairs, and its records deleted.
    fireKey(keyGroup, keyString, window) {
      let ws = this.state.get(keyGroup, keyString);
      if (ws === undefined) return;
      if (typeof ws[1] !== "number") ws = packed(ws);
      const start = window.start;
      let i = 0;
      while (i < ws.length && ws[i] !== start) i += 3 + ws[i + 1] + ws[i + 2];
      if (i === ws.length) return;
      const lefts = i + 3, rights = lefts + ws[i + 1], next = rights + ws[i + 2];
      if (next - i === ws.length) {
        this.state.delete(keyGroup, keyString);
      } else {
        const rest = ws.slice(0, i).concat(ws.slice(next));
        this.state.put(keyGroup, keyString, rest);
      }
      // Every (left, right) pair, left-major in arrival order.
      const ts = window.end - 1, apply = this.apply, params = this.params, ctx = this.ctx;
      for (let l = lefts; l < rights; l++) {
        const left = ws[l];
        for (let r = rights; r < next; r++) {
          const out = apply(left, ws[r], window, params);
          if (out !== undefined) ctx.emit(out, ts);
        }
      }
    }

    // The window end timers up to the watermark, one time at a time: ctx.timers' first, then
    // the operator's own bucket of the time.
    onWatermark(watermark) {
      const own = this.endTimers, timers = this.ctx.timers;
      if (own === null) {
        timers.advanceWatermark(watermark, this.fire);
        return;
      }
      for (;;) {
        const ownNext = own.count > 0 ? own.next() : Infinity;
        const theirNext = timers.nextEventTime();
        const time = ownNext < theirNext ? ownNext : theirNext;
        if (!(time <= watermark)) return;
        if (theirNext === time) timers.advanceWatermark(time, this.fire);
        if (ownNext === time && own.count > 0) {
          const bucket = own.shift();
          const window = Object.freeze({ start: bucket.start, end: bucket.end });
          const keyGroups = bucket.keyGroups, keyStrings = bucket.keyStrings;
          for (let i = 0; i < keyStrings.length; i++) {
            this.fireKey(keyGroups[i], keyStrings[i], window);
          }
        }
        if (time === Infinity) return;
      }
    }
    onProcessingTime(now) {}
  }

  // `ws` with `record` inserted at `at`: a new array of the exact length while it is short
  // (most keys hold a few records), else ws itself, grown.
  function insert(ws, at, record) {
    const n = ws.length;
    if (n < 16) {
      const out = new Array(n + 1);
      for (let j = 0; j < at; j++) out[j] = ws[j];
      out[at] = record;
      for (let j = at; j < n; j++) out[j + 1] = ws[j];
      return out;
    }
    ws.push(record);
    for (let j = n; j > at; j--) ws[j] = ws[j - 1];
    ws[at] = record;
    return ws;
  }

  // A key's windows as checkpoints taken before kept them, packed: [[start, lefts, rights], ...]
  // (nested) or [start, lefts, rights, ...] (flat, lefts and rights arrays).
  function packed(ws) {
    const out = [];
    const nested = typeof ws[0] !== "number";
    for (let i = 0; i < ws.length; i += nested ? 1 : 3) {
      const [start, lefts, rights] = nested ? ws[i] : ws.slice(i, i + 3);
      out.push(start, lefts.length, rights.length);
      for (const l of lefts) out.push(l);
      for (const r of rights) out.push(r);
    }
    return out;
  }

  // Session windows: a record opens [ts, ts + gap), which merges with the key's open sessions
  // it overlaps or touches. Records carry a per-key arrival number so that a merged session
  // still pairs them in arrival order.
  class SessionJoin {
    constructor(spec, ctx, gap) {
      this.spec = spec;
      this.ctx = ctx;
      this.params = ctx.params;
      this.apply = requireApply(spec);
      this.gap = gap;
      this.fire = (timer) => this.fireSession(timer);
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      checkInput(this.spec, input, ts);
      const stateKey = keyString;
      const entry = this.ctx.state.get(keyGroup, stateKey) || { next: 0, sessions: [] };
      let start = ts, end = ts + this.gap;
      const kept = [], merged = [];
      for (const s of entry.sessions) {
        if (s.start <= end && s.end >= start) merged.push(s);
        else kept.push(s);
      }
      if (merged.length === 0 && end - 1 <= this.ctx.watermark()) {
        this.ctx.stats.lateDropped++;
        return;
      }
      for (const s of merged) {
        start = Math.min(start, s.start);
        end = Math.max(end, s.end);
      }
      const timers = this.ctx.timers;
      let session = merged.find((s) => s.start === start && s.end === end);
      if (session === undefined) {
        session = { start, end, left: [], right: [] };
        timers.registerEventTimeTimer(end - 1, keyGroup, keyString, key, start + ":" + end);
      }
      for (const s of merged) {
        if (s === session) continue;
        timers.deleteEventTimeTimer(s.end - 1, keyString, s.start + ":" + s.end);
        session.left = session.left.concat(s.left);
        session.right = session.right.concat(s.right);
      }
      if (merged.length > 1) {
        session.left.sort(bySeq);
        session.right.sort(bySeq);
      }
      (input === 0 ? session.left : session.right).push([entry.next++, record]);
      kept.push(session);
      entry.sessions = kept;
      this.ctx.state.put(keyGroup, stateKey, entry);
    }

    fireSession(timer) {
      const stateKey = timer.keyString;
      const entry = this.ctx.state.get(timer.keyGroup, stateKey);
      if (entry === undefined) return;
      const window = windowOf(timer.namespace);
      const i = entry.sessions.findIndex((s) => s.start === window.start && s.end === window.end);
      if (i < 0) return;
      const session = entry.sessions[i];
      entry.sessions.splice(i, 1);
      if (entry.sessions.length === 0) {
        this.ctx.state.delete(timer.keyGroup, stateKey);
      } else {
        this.ctx.state.put(timer.keyGroup, stateKey, entry);
      }
      emitPairs(this, session.left, session.right, window, second, second);
    }

    onWatermark(watermark) {
      this.ctx.timers.advanceWatermark(watermark, this.fire);
    }
    onProcessingTime(now) {}
  }

  function bySeq(a, b) {
    return a[0] - b[0];
  }

  function makeWindowJoin(spec, ctx) {
    const config = spec.config || {};
    const assigner = config.assigner;
    if (assigner === null || typeof assigner !== "object") {
      throw configError(spec, "needs config.assigner ({ type: \"tumbling\" | \"sliding\" | " +
          "\"session\", ... })");
    }
    switch (assigner.type) {
      case "tumbling": {
        const size = positiveNumber(spec, "assigner.size", assigner.size);
        return new FixedWindowJoin(spec, ctx, size, size, offsetOf(spec, assigner, size, "size"));
      }
      case "sliding": {
        const size = positiveNumber(spec, "assigner.size", assigner.size);
        const slide = positiveNumber(spec, "assigner.slide", assigner.slide);
        return new FixedWindowJoin(spec, ctx, size, slide, offsetOf(spec, assigner, slide, "slide"));
      }
      case "session":
        return new SessionJoin(spec, ctx, positiveNumber(spec, "assigner.gap", assigner.gap));
      default:
        throw configError(spec, "config.assigner.type must be \"tumbling\", \"sliding\" or " +
            "\"session\", not " + JSON.stringify(assigner.type));
    }
  }

  // The first index in the ts-sorted buffer whose entry does not satisfy below(entry ts).
  function firstNotBelow(buffer, below) {
    let lo = 0, hi = buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (below(buffer[mid][0])) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  const SIDE_NAMESPACE = ["L", "R"];

  class IntervalJoin {
    constructor(spec, ctx) {
      const config = spec.config || {};
      this.lower = finiteNumber(spec, "lower", config.lower);
      this.upper = finiteNumber(spec, "upper", config.upper);
      if (this.lower > this.upper) {
        throw configError(spec, "config lower (" + this.lower + ") must not exceed upper (" +
            this.upper + ")");
      }
      this.spec = spec;
      this.ctx = ctx;
      this.params = ctx.params;
      this.apply = requireApply(spec);
      this.fire = (timer) => this.cleanUp(timer);
    }

    // When a record of `input` with event time ts can no longer join a future record.
    removalTime(input, ts) {
      return input === 0 ? ts + this.upper : ts - this.lower;
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      checkInput(this.spec, input, ts);
      const removal = this.removalTime(input, ts);
      if (removal <= this.ctx.watermark()) {
        this.ctx.stats.lateDropped++;
        return;
      }
      const sides = this.ctx.state.get(keyGroup, keyString) || [[], []];
      if (input === 0) this.joinLeft(record, ts, sides[1]);
      else this.joinRight(record, ts, sides[0]);
      const own = sides[input];
      const at = firstNotBelow(own, (t) => t <= ts);  // after records of equal time
      if (at === own.length) own.push([ts, record]);
      else own.splice(at, 0, [ts, record]);
      if (at === 0) {  // the side's earliest removal moves
        const namespace = SIDE_NAMESPACE[input];
        if (own.length > 1) {
          this.ctx.timers.deleteEventTimeTimer(this.removalTime(input, own[1][0]), keyString,
                                               namespace);
        }
        this.ctx.timers.registerEventTimeTimer(removal, keyGroup, keyString, key, namespace);
      }
      this.ctx.state.put(keyGroup, keyString, sides);
    }

    joinLeft(left, ts, rights) {
      const lower = this.lower, upper = this.upper;
      for (let i = firstNotBelow(rights, (t) => ts + lower > t); i < rights.length; i++) {
        const rightTs = rights[i][0];
        if (rightTs > ts + upper) break;
        const out = this.apply(left, rights[i][1], this.params);
        if (out !== undefined) this.ctx.emit(out, Math.max(ts, rightTs));
      }
    }

    joinRight(right, ts, lefts) {
      const lower = this.lower, upper = this.upper;
      for (let i = firstNotBelow(lefts, (t) => t + upper < ts); i < lefts.length; i++) {
        const leftTs = lefts[i][0];
        if (leftTs + lower > ts) break;
        const out = this.apply(lefts[i][1], right, this.params);
        if (out !== undefined) this.ctx.emit(out, Math.max(leftTs, ts));
      }
    }

    // The side's earliest removal time was reached: drop every record of the side the watermark
    // has passed, and wait for the next one.
    cleanUp(timer) {
      const input = timer.namespace === "L" ? 0 : 1;
      const sides = this.ctx.state.get(timer.keyGroup, timer.keyString);
      if (sides === undefined) return;
      const own = sides[input];
      const watermark = this.ctx.watermark();
      own.splice(0, firstNotBelow(own, (t) => this.removalTime(input, t) <= watermark));
      if (own.length > 0) {
        this.ctx.timers.registerEventTimeTimer(this.removalTime(input, own[0][0]), timer.keyGroup,
                                               timer.keyString, timer.key, timer.namespace);
      }
      if (own.length === 0 && sides[1 - input].length === 0) {
        this.ctx.state.delete(timer.keyGroup, timer.keyString);
      } else {
        this.ctx.state.put(timer.keyGroup, timer.keyString, sides);
      }
    }

    onWatermark(watermark) {
      this.ctx.timers.advanceWatermark(watermark, this.fire);
    }
    onProcessingTime(now) {}
  }

  function make(spec, ctx) {
    switch (spec.kind) {
      case "window_join":
        return makeWindowJoin(spec, ctx);
      case "interval_join":
        return new IntervalJoin(spec, ctx);
      default:
        throw new TypeError(describe(spec) + ": joins.js makes 'window_join' and " +
            "'interval_join', not '" + spec.kind + "'");
    }
  }

  return Object.freeze({ make });
})();
