// Running reduce and aggregate on a keyed stream: every record folds into its key's value and
// the updated value goes on, with the record's event time (see README.md, "Keyed operators").
//
//   kind "reduce":    fns.fn(acc, record, params) -> acc; a key's first record is its first
//                     value. Emits the new value.
//   kind "aggregate": fns.create(params) -> acc, fns.add(acc, record, params) -> acc,
//                     optional fns.result(acc, params) (identity when absent). Emits result(acc).
//
// State: one entry per key, (keyGroup, keyString) -> the accumulated value. A value is JSON
// data, so a function returning undefined (which JSON cannot keep) is an error.
//
// The script's completion value is a frozen object { make }.
(function () {
  "use strict";

  function describe(spec) {
    return "operator '" + spec.name + "' (" + spec.id + ")";
  }

  function requireFunction(spec, role) {
    const fn = spec.fns === undefined ? undefined : spec.fns[role];
    if (typeof fn !== "function") {
      throw new TypeError(describe(spec) + ": " + spec.kind + " needs a function '" + role +
          "'");
    }
    return fn;
  }

  function undefinedResult(spec, role) {
    return new TypeError(describe(spec) + ": the " + spec.kind + " function '" + role +
        "' returned undefined; keyed state must be a JSON value (return null instead)");
  }

  // The hot path is one state get, one user call and one state put per record: no allocation
  // of our own.
  class Reduce {
    constructor(spec, ctx) {
      this.spec = spec;
      this.fn = requireFunction(spec, "fn");
      this.state = ctx.state;
      this.params = ctx.params;
      this.ctx = ctx;
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      const acc = this.state.get(keyGroup, keyString);
      let next = record;
      if (acc !== undefined) {
        next = this.fn(acc, record, this.params);
        if (next === undefined) throw undefinedResult(this.spec, "fn");
      }
      this.state.put(keyGroup, keyString, next);
      this.ctx.emit(next, ts);
    }

    onWatermark(watermark) {}
    onProcessingTime(now) {}
  }

  class Aggregate {
    constructor(spec, ctx) {
      this.spec = spec;
      this.create = requireFunction(spec, "create");
      this.add = requireFunction(spec, "add");
      const result = spec.fns.result;
      if (result !== undefined && typeof result !== "function") {
        throw new TypeError(describe(spec) + ": aggregate's 'result' must be a function");
      }
      this.result = result;
      this.state = ctx.state;
      this.params = ctx.params;
      this.ctx = ctx;
    }

    processElement(input, keyGroup, keyString, key, record, ts) {
      let acc = this.state.get(keyGroup, keyString);
      if (acc === undefined) {
        acc = this.create(this.params);
        if (acc === undefined) throw undefinedResult(this.spec, "create");
      }
      acc = this.add(acc, record, this.params);
      if (acc === undefined) throw undefinedResult(this.spec, "add");
      this.state.put(keyGroup, keyString, acc);
      this.ctx.emit(this.result === undefined ? acc : this.result(acc, this.params), ts);
    }

    onWatermark(watermark) {}
    onProcessingTime(now) {}
  }

  function make(spec, ctx) {
    switch (spec.kind) {
      case "reduce":
        return new Reduce(spec, ctx);
      case "aggregate":
        return new Aggregate(spec, ctx);
      default:
        throw new TypeError(describe(spec) + ": keyed.js makes 'reduce' and 'aggregate', not '" +
            spec.kind + "'");
    }
  }

  return Object.freeze({ make });
})();
