#pragma once

#include <string_view>

namespace sluice::js {

// The start of every generated chain driver (chain_program.cc), after its comment: the factory
// and its inputs (chain_program.h), the helpers the generated loop calls, and the per-call and
// time state it shares with the keyed operator's emit functions. The stats' names (STAT) follow.
inline constexpr std::string_view kPrelude =
    R"js((function chainDriver(env) {
"use strict";
const { fns, paramsJson, sourceConfigJson, nexmark, stats, keys, inKeyFns, outKeyFns, codec, rt,
        chainKeyFns, linkKeyFns } = env;
function deepFreeze(v) {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const k of Object.keys(v)) deepFreeze(v[k]);
  }
  return v;
}
let params;
try {
  params = deepFreeze(JSON.parse(paramsJson));
} catch (e) {
  throw new SyntaxError("the job's params are not valid JSON: " + e.message);
}
// Values JSON.stringify would write as something else entirely (a Promise or a Map as {}, a
// function as nothing) fail where a record is written, naming the operator, instead of changing
// the record (README.md, "Records are JSON").
for (const [C, what] of [[Promise, "a Promise (async functions are not supported)"],
    [Map, "a Map"], [Set, "a Set"], [WeakMap, "a WeakMap"], [WeakSet, "a WeakSet"],
    [Function, "a function"]]) {
  Object.defineProperty(C.prototype, "toJSON", {
    configurable: true, writable: true, enumerable: false,
    value: function (key) {
      throw new TypeError(what + " cannot be written as JSON" +
          (key === "" ? "" : " (field '" + key + "')") +
          "; records hold plain data: objects, arrays, strings, numbers, booleans, null");
    },
  });
}
const SKIP = {};
function notJson(r) {
  return new TypeError("an output record is not JSON (JSON.stringify returned undefined for a " +
      typeof r + ")");
}
function tooBig(n, limit) {
  return new RangeError("an output record's JSON is " + n + " characters long, over the " +
      "cluster's limit of " + limit + " bytes (--max-record-bytes)");
}
function notIterable(r) {
  return new TypeError("a flat_map function must return an array or an iterable, not " +
      (r === null ? "null" : typeof r));
}
function badTime(t) {
  return new TypeError("the timestamp function must return a finite number (epoch " +
      "milliseconds), not " + (typeof t === "number" ? String(t) : t === null ? "null" : typeof t));
}
function isIterable(r) {
  return r !== null && r !== undefined && typeof r[Symbol.iterator] === "function";
}
function lineArrays(n) {
  const a = new Array(n);
  for (let t = 0; t < n; t++) a[t] = [];
  return a;
}
function codecTargets(n, maxRecord) {
  const a = new Array(n);
  for (let t = 0; t < n; t++) a[t] = new codec.Target(maxRecord, tooBig);
  return a;
}
function finishTarget(t) {
  return t.finish();
}
function joinLines(a) {
  if (a.length === 0) return "";
  a.push("");
  return a.join("\n");
}
function parseLine(line) {
  try {
    return JSON.parse(line);
  } catch (e) {
    if (line.trim() === "") return SKIP;
    throw new SyntaxError("bad JSON line (" + e.message + "): " +
        (line.length > 80 ? line.slice(0, 80) + "..." : line));
  }
}
const keyGroupOf = keys.keyGroupOf;
const keyGroupOfString = keys.keyGroupOfString;
const keyString = keys.keyString;
// Per call: the stage running (for errors), records in and out, the output being built.
let s = -1, nIn = 0, nOut = 0, lines = null;
// Time: the chain's input watermark and whether its output is idle.
let wmIn = -Infinity, idleOut = false;
)js";

}  // namespace sluice::js
