// kind "process": a keyed process function, as Flink's KeyedProcessFunction (see README.md,
// "Keyed operators", for spec and ctx). fns.processElement(record, ctx, params) runs per record
// and the optional fns.onTimer(timestamp, ctx, params) per timer. The user's ctx:
//
//   key, timestamp          the current key; the record's event time or the timer's time
//   timeDomain              in onTimer: "event" or "processing" (undefined in processElement)
//   value(name)             ValueState { value(), update(v), clear() }; update(undefined) clears
//   map(name)               MapState with string keys { get, put, remove, contains, keys, values,
//                           entries, isEmpty, clear }; put(k, undefined) removes k; keys come
//                           back in JS object order (integer-like keys first)
//   timerService            { currentWatermark(), currentProcessingTime(),
//                             registerEventTimeTimer(t), registerProcessingTimeTimer(t),
//                             deleteEventTimeTimer(t), deleteProcessingTimeTimer(t) }
//   emit(record)            sends a record downstream with event time ctx.timestamp (for a
//                           processing-time timer that is the timer's wall-clock time;
//                           Flink would send the record without a timestamp)
//
// State handles always act on the current key, so one handle per name serves every key and
// call; the ctx object is one per operator. A named state is the state entry
// (keyGroup, keyString \0 name); a MapState is stored whole as one JSON object. Timers use the
// namespace "" of the key.
//
// The script's completion value is a frozen object { make }.
(function () {
  "use strict";

  const hasOwn = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

  function describe(spec) {
    return "operator '" + spec.name + "' (" + spec.id + ")";
  }

  function shown(value) {
    if (typeof value === "string") return JSON.stringify(value);
    if (typeof value === "number") return String(value);
    return value === null ? "null" : typeof value;
  }

  // What both kinds of named state share: the state key of the current key, recomputed only
  // when the operator moves to another key.
  class NamedState {
    constructor(op, name) {
      this.op = op;
      this.name = name;
      this.suffix = "\u0000" + name;
      this.keyEpoch = -1;
      this.stateKey = "";
    }

    currentStateKey() {
      const op = this.op;
      if (this.keyEpoch !== op.keyEpoch) {
        this.keyEpoch = op.keyEpoch;
        this.stateKey = op.keyString + this.suffix;
      }
      return this.stateKey;
    }

    read() {
      return this.op.state.get(this.op.keyGroup, this.currentStateKey());
    }
    write(value) {
      this.op.state.put(this.op.keyGroup, this.currentStateKey(), value);
    }
    clear() {
      this.op.state.delete(this.op.keyGroup, this.currentStateKey());
    }
  }

  class ValueState extends NamedState {
    value() {
      return this.read();
    }
    update(value) {
      if (value === undefined) this.clear();
      else this.write(value);
    }
  }

  // Stored as one object { key: value }, never empty (an empty map is no entry).
  class MapState extends NamedState {
    checkKey(method, key) {
      if (typeof key !== "string") {
        throw new TypeError(describe(this.op.spec) + ": MapState '" + this.name + "'." + method +
            ": keys are strings, not " + shown(key) + " (convert it with String(key))");
      }
    }

    get(key) {
      this.checkKey("get", key);
      const map = this.read();
      return map !== undefined && hasOwn(map, key) ? map[key] : undefined;
    }
    contains(key) {
      this.checkKey("contains", key);
      const map = this.read();
      return map !== undefined && hasOwn(map, key);
    }
    put(key, value) {
      this.checkKey("put", key);
      if (value === undefined) {
        this.remove(key);
        return;
      }
      const map = this.read() || {};
      if (key === "__proto__") {  // a plain assignment would set the prototype
        Object.defineProperty(map, key, { value, writable: true, enumerable: true,
                                          configurable: true });
      } else {
        map[key] = value;
      }
      this.write(map);
    }
    remove(key) {
      this.checkKey("remove", key);
      const map = this.read();
      if (map === undefined || !hasOwn(map, key)) return;
      delete map[key];
      if (Object.keys(map).length === 0) this.clear();
      else this.write(map);
    }
    keys() {
      const map = this.read();
      return map === undefined ? [] : Object.keys(map);
    }
    values() {
      const map = this.read();
      return map === undefined ? [] : Object.values(map);
    }
    entries() {
      const map = this.read();
      return map === undefined ? [] : Object.entries(map);
    }
    isEmpty() {
      return this.read() === undefined;
    }
  }

  const STATE_KINDS = { value: ValueState, map: MapState };
  const STATE_NAMES = { value: "ValueState", map: "MapState" };

  class ProcessOperator {
    constructor(spec, ctx) {
      const fns = spec.fns || {};
      if (typeof fns.processElement !== "function") {
        throw new TypeError(describe(spec) + ": process needs a function 'processElement'");
      }
      if (fns.onTimer !== undefined && typeof fns.onTimer !== "function") {
        throw new TypeError(describe(spec) + ": process's 'onTimer' must be a function");
      }
      this.spec = spec;
      this.ctx = ctx;
      this.state = ctx.state;
      this.params = ctx.params;
      this.processFn = fns.processElement;
      this.onTimerFn = fns.onTimer;
      // The current key; keyEpoch changes with it, so state handles know when to rebuild keys.
      this.keyGroup = 0;
      this.keyString = "";
      this.key = undefined;
      this.keyEpoch = 0;
      this.timestamp = undefined;
      this.states = new Map();  // name -> ValueState | MapState
      this.user = this.makeUserContext();
      this.fireEvent = (timer) => this.fire(timer, "event");
      this.fireProcessing = (timer) => this.fire(timer, "processing");
    }

    makeUserContext() {
      const op = this;
      const timerService = Object.freeze({
        currentWatermark: () => op.ctx.watermark(),
        currentProcessingTime: () => op.ctx.now(),
        registerEventTimeTimer(time) {
          op.checkTime("registerEventTimeTimer", time);
          op.ctx.timers.registerEventTimeTimer(time, op.keyGroup, op.keyString, op.key, "");
        },
        registerProcessingTimeTimer(time) {
          op.checkTime("registerProcessingTimeTimer", time);
          op.ctx.timers.registerProcessingTimeTimer(time, op.keyGroup, op.keyString, op.key, "");
        },
        deleteEventTimeTimer(time) {
          op.checkTime("deleteEventTimeTimer", time);
          op.ctx.timers.deleteEventTimeTimer(time, op.keyString, "");
        },
        deleteProcessingTimeTimer(time) {
          op.checkTime("deleteProcessingTimeTimer", time);
          op.ctx.timers.deleteProcessingTimeTimer(time, op.keyString, "");
        },
      });
      return Object.seal({
        key: undefined,
        timestamp: undefined,
        timeDomain: undefined,
        timerService,
        value: (name) => op.named("value", name),
        map: (name) => op.named("map", name),
        emit: (record) => op.ctx.emit(record, op.timestamp),
      });
    }

    checkTime(method, time) {
      if (typeof time !== "number" || Number.isNaN(time)) {
        throw new TypeError(describe(this.spec) + ": timerService." + method +
            "(time) needs a time in epoch milliseconds (a number), not " + shown(time));
      }
    }

    named(kind, name) {
      const found = this.states.get(name);
      if (found !== undefined) {
        if (found instanceof STATE_KINDS[kind]) return found;
        throw new TypeError(describe(this.spec) + ": state '" + name + "' is a " +
            (found instanceof MapState ? "MapState" : "ValueState") + "; ctx." + kind +
            "('" + name + "') cannot use it as a " + STATE_NAMES[kind]);
      }
      if (typeof name !== "string" || name.length === 0) {
        throw new TypeError(describe(this.spec) + ": ctx." + kind +
            "(name) needs a non-empty string name, not " + shown(name));
      }
      const handle = new STATE_KINDS[kind](this, name);
      this.states.set(name, handle);
      return handle;
    }

    enter(keyGroup, keyString, key, timestamp, timeDomain) {
      if (keyString !== this.keyString || keyGroup !== this.keyGroup) {
        this.keyGroup = keyGroup;
        this.keyString = keyString;
        this.keyEpoch++;
      }
      this.key = key;
      this.timestamp = timestamp;
      const user = this.user;
      user.key = key;
      user.timestamp = timestamp;
      user.timeDomain = timeDomain;
      return user;
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      this.processFn(record, this.enter(keyGroup, keyString, key, ts, undefined), this.params);
    }

    fire(timer, domain) {
      if (this.onTimerFn === undefined) {
        throw new TypeError(describe(this.spec) + ": " + (domain === "event" ? "an " : "a ") +
            domain + "-time timer (" +
            timer.time + ") fired for key " + JSON.stringify(timer.keyString) +
            ", but the process function has no onTimer");
      }
      const user = this.enter(timer.keyGroup, timer.keyString, timer.key, timer.time, domain);
      this.onTimerFn(timer.time, user, this.params);
    }

    onWatermark(watermark) {
      this.ctx.timers.advanceWatermark(watermark, this.fireEvent);
    }
    onProcessingTime(now) {
      this.ctx.timers.advanceProcessingTime(now, this.fireProcessing);
    }
  }

  function make(spec, ctx) {
    if (spec.kind !== "process") {
      throw new TypeError(describe(spec) + ": process.js makes 'process', not '" + spec.kind +
          "'");
    }
    return new ProcessOperator(spec, ctx);
  }

  return Object.freeze({ make });
})();
