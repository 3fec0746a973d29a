// The join as it was before it kept its own window end timers (worker/js/runtime/joins.js at
// main 9780bfd): the oracle of joins_differential.test.mjs, which checks that the new join emits
// what this one emits, and restores what this one checkpointed. Not loaded by any task.
//
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
//   window_join, tumbling/sliding: [[start, lefts, rights]...], the key's open windows
//   window_join, session:          { next, sessions: [{ start, end, left: [[seq, record]...],
//                                      right: [...] }] }, seq numbering arrivals
//   interval_join:                 [lefts, rights], each [[ts, record]...] sorted by ts
// Timers: one event-time timer per key and window (namespace "start:end", at end - 1); for the
// interval join one per key and side (namespace "L" or "R"), at the side's earliest removal.
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

  const itself = (record) => record;
  const second = (pair) => pair[1];

  // Tumbling and sliding windows: a record goes into each of its windows' buffers.
  class FixedWindowJoin {
    constructor(spec, ctx, size, slide, offset) {
      this.spec = spec;
      this.ctx = ctx;
      this.params = ctx.params;
      this.apply = requireApply(spec);
      this.size = size;
      this.slide = slide;
      this.offset = offset;
      this.fire = (timer) => this.fireWindow(timer);
      // The open windows' namespaces by start and { start, end } by namespace: made once per
      // window rather than once per record and per firing.
      this.namespaces = new Map();
      this.windows = new Map();
    }

    namespaceOf(start) {
      let namespace = this.namespaces.get(start);
      if (namespace === undefined) {
        const end = start + this.size;
        namespace = start + ":" + end;
        this.namespaces.set(start, namespace);
        this.windows.set(namespace, Object.freeze({ start, end }));
      }
      return namespace;
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      checkInput(this.spec, input, ts);
      const watermark = this.ctx.watermark();
      let windows;  // the key's open windows, read when the record has a window to go to
      let late = false;
      for (let start = windowStart(ts, this.offset, this.slide); start > ts - this.size; start -= this.slide) {
        const end = start + this.size;
        if (end - 1 <= watermark) {  // fired already
          late = true;
          continue;
        }
        if (windows === undefined) windows = this.ctx.state.get(keyGroup, keyString) || [];
        let window = windows.find((w) => w[0] === start);
        if (window === undefined) {
          window = [start, [], []];
          windows.push(window);
          this.ctx.timers.registerEventTimeTimer(end - 1, keyGroup, keyString, key,
                                                 this.namespaceOf(start));
        }
        window[1 + input].push(record);
      }
      if (windows !== undefined) this.ctx.state.put(keyGroup, keyString, windows);
      else if (late) this.ctx.stats.lateDropped++;
      // else: a sliding window's slide exceeds its size and ts falls between two windows
    }

    fireWindow(timer) {
      const windows = this.ctx.state.get(timer.keyGroup, timer.keyString);
      if (windows === undefined) return;
      const window = this.windows.get(timer.namespace) || windowOf(timer.namespace);
      const i = windows.findIndex((w) => w[0] === window.start);
      if (i < 0) return;
      const [, lefts, rights] = windows[i];
      windows.splice(i, 1);
      if (windows.length === 0) this.ctx.state.delete(timer.keyGroup, timer.keyString);
      else this.ctx.state.put(timer.keyGroup, timer.keyString, windows);
      emitPairs(this, lefts, rights, window, itself, itself);
    }

    onWatermark(watermark) {
      this.ctx.timers.advanceWatermark(watermark, this.fire);
      for (const [start, namespace] of this.namespaces) {
        if (start + this.size - 1 > watermark) continue;
        this.namespaces.delete(start);
        this.windows.delete(namespace);
      }
    }
    onProcessingTime(now) {}
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
