// The configuration of a window operator (windows.js): the assigner (tumbling, sliding, session),
// the time domain, the trigger, allowed lateness, the late side output and the accumulator
// functions (count, reduce, aggregate), checked with errors that name the operator and the
// field; and the helpers the window scripts share.
//
// Accumulators are stored as they are: a reduce window's first accumulator is its first record.
// User functions may change and return their first argument (the accumulator) but must not
// change the record. A value that is emitted while its window stays open is a copy, so what
// happens downstream cannot change the state.
//
// The script's completion value is a frozen object { parse, windowStart, copyOf, gcd, STRIDE,
// removeWindow, ownTimers, TUMBLING, SLIDING, SESSION, EVENT_TIME, PROCESSING_TIME, COUNT }.
(function () {
  "use strict";

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


  // A window list (see windows.js "State") has STRIDE elements per window.
  const STRIDE = 4;

  // Removes ws[i .. i + STRIDE) in place (splice would allocate the removed part).
  function removeWindow(ws, i) {
    const n = ws.length - STRIDE;
    for (let j = i; j < n; j++) ws[j] = ws[j + STRIDE];
    ws.length = n;
  }


  function copyOf(value) {
    return typeof value === "object" && value !== null ? JSON.parse(JSON.stringify(value)) : value;
  }


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

  // The operator's configuration from its spec: { where, kind, size, step, offset, gap,
  // eventTime, trigger, count, lateness, lateOutput, merges, first, add, merge, result }.
  function parse(spec, ctx) {
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
    return {
      where, kind: assigner.kind, size: assigner.size, step: assigner.step,
      offset: assigner.offset, gap: assigner.gap, eventTime, trigger, count, lateness,
      lateOutput: config.lateOutput === true, merges: fn.merges, first: fn.first, add: fn.add,
      merge: fn.merge, result: fn.result,
    };
  }

  // Own timers (timers.js, adopt). The window operator keeps some timers itself and writes them
  // as entries of its own kind, several timers an entry, in the timers' table of their key
  // group; the entry key is a JSON
  // list that begins with the kind (so it cannot be a TimerService entry, whose key begins with
  // a domain number):
  //
  // - "end" (window end timers, window_slices.js): key ["end", time, first seq], value
  //   [start, end, seqs, keyStrings, keys or 0]: the event-time timers at `time` of window
  //   [start, end), of one key group, registered in one checkpoint interval.
  // - "processing_end": the same for processing-time timers (processing-time tumbling and
  //   sliding windows), key ["processing_end", time, first seq].
  // - "session" (window_sessions.js): key ["session", first seq], value
  //   [times, seqs, keyStrings, keys or 0]: event-time timers with namespace "". And the key
  //   group's mark, key ["session"], value a time: every timer of the key group at or before it
  //   had fired (an entry lives until all its timers fired; a restore skips the fired ones).
  //
  // seqs give the firing order among the timers of one time (a restore registers them by seq),
  // keys are the key values, or 0 when every key is its key string. A store deletes an entry
  // once every timer of it fired. ownTimers: { entryKey, entryValue, parse }; parse pushes the
  // entry's timers to `list` as { kind, keyGroup, entryKey, time, start, end, seq, keyString,
  // key, mark: false }, and a mark as { kind, keyGroup, entryKey, time, mark: true }.
  function ownEntryKey(kind, a, b) {
    if (a === undefined) return "[" + JSON.stringify(kind) + "]";
    return b === undefined ? "[" + JSON.stringify(kind) + "," + a + "]"
      : "[" + JSON.stringify(kind) + "," + a + "," + b + "]";
  }
  function ownEntryValue(head, seqs, keyStrings, keys) {
    let same = true;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== keyStrings[i]) {
        same = false;
        break;
      }
    }
    try {
      return JSON.stringify(head.concat([seqs, keyStrings, same ? 0 : keys]));
    } catch (e) {
      throw new TypeError("timers: a key of key group's timers cannot be stored as JSON (" +
          e.message + "; a key must be a JSON value)");
    }
  }
  function parseOwnTimers(keyGroup, key, value, list) {
    let k, v;
    const bad = (what) => new TypeError("the stored timers " + key + " of key group " + keyGroup +
        " are not " + what);
    try {
      k = JSON.parse(key);
      v = JSON.parse(value);
    } catch (e) {
      throw bad("JSON (" + e.message + ")");
    }
    const kind = Array.isArray(k) ? k[0] : undefined;
    if (kind === "session" && k.length === 1) {
      if (typeof v !== "number") throw bad("a time (the key group's mark)");
      list.push({ kind, keyGroup, entryKey: key, time: v, start: 0, end: 0, seq: 0,
                  keyString: "", key: "", mark: true });
      return;
    }
    const ends = kind === "end" || kind === "processing_end", n = ends ? 2 : 1;
    if ((!ends && kind !== "session") || !Array.isArray(v) || v.length !== n + 3 ||
        !Array.isArray(v[n + 1]) || !Array.isArray(v[n])) {
      throw bad("[\"end\" or \"processing_end\", time, seq] -> [start, end, seqs, keyStrings, " +
                "keys or 0] or [\"session\", seq] -> [times, seqs, keyStrings, keys or 0]");
    }
    const seqs = v[n], keyStrings = v[n + 1], keys = v[n + 2];
    const times = ends ? null : v[0];
    if (seqs.length !== keyStrings.length || (keys !== 0 && keys.length !== seqs.length) ||
        (times !== null && (!Array.isArray(times) || times.length !== seqs.length)) ||
        (ends && (typeof k[1] !== "number" || typeof v[0] !== "number" ||
                  typeof v[1] !== "number"))) {
      throw bad("of equal lengths with numeric times");
    }
    for (let i = 0; i < seqs.length; i++) {
      const time = times === null ? k[1] : times[i];
      if (typeof time !== "number" || !Number.isInteger(seqs[i]) ||
          typeof keyStrings[i] !== "string") {
        throw bad("well formed (timer " + i + ")");
      }
      list.push({ kind, keyGroup, entryKey: key, time, start: ends ? v[0] : 0,
                  end: ends ? v[1] : 0, seq: seqs[i], keyString: keyStrings[i],
                  key: keys === 0 ? keyStrings[i] : keys[i], mark: false });
    }
  }

  const ownTimers = Object.freeze({ entryKey: ownEntryKey, entryValue: ownEntryValue,
                                   parse: parseOwnTimers });

  return Object.freeze({
    parse, windowStart, copyOf, gcd, STRIDE, removeWindow, ownTimers,
    TUMBLING, SLIDING, SESSION, EVENT_TIME, PROCESSING_TIME, COUNT,
  });
})();
