// Keys and key groups, the one definition every part of Sluice that partitions or keys records
// uses (the HASH exchange in the sending chain, keyed state in the receiving one). It must give
// the same answer in every process and isolate, so it depends on nothing but the key's text:
//
//   key string  = the key itself if it is a string; String(key) for a number or bigint;
//                 JSON.stringify(key) for null, booleans, arrays and objects (property order
//                 counts); undefined, functions and symbols are refused.
//   hash        = FNV-1a (32 bit) over the key string's UTF-16 code units (each unit xor-ed in
//                 whole, then multiplied by the FNV prime with Math.imul), finished with
//                 murmur3's fmix32, as an unsigned 32-bit integer.
//   key group   = hash % maxParallelism
//   target      = floor(keyGroup * targets / maxParallelism)  (contiguous key-group ranges)
//
// Two keys with the same key string are the same key: the string "1" and the number 1 too.
//
// The script's completion value is a frozen object with these functions.
(function () {
  "use strict";

  function keyString(key) {
    switch (typeof key) {
      case "string":
        return key;
      case "number":
      case "bigint":
        return String(key);
      case "undefined":
        throw new TypeError("the key selector returned undefined");
      case "function":
      case "symbol":
        throw new TypeError("the key selector returned a " + typeof key +
            "; a key must be a string, a number or a JSON value");
    }
    const text = JSON.stringify(key);
    if (text === undefined) {
      throw new TypeError("the key selector returned a value without a JSON form");
    }
    return text;
  }

  // murmur3's finalizer, as an unsigned 32-bit integer.
  function fmix32(h) {
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  function hashString(text) {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < text.length; i++) {
      h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
    }
    return fmix32(h);
  }

  // hashString(String(n)) for a safe integer n, without making the string: the decimal digits
  // (and "-") are the code units String(n) would hold.
  const DIGITS = new Int32Array(16);
  function hashInteger(n) {
    let h = 0x811c9dc5 | 0;
    let v = n;
    if (v < 0) {
      h = Math.imul(h ^ 45, 0x01000193);  // "-"
      v = -v;
    }
    let count = 0;
    while (v > 0x7fffffff) {
      const q = Math.floor(v / 10);
      DIGITS[count++] = v - q * 10;
      v = q;
    }
    let w = v | 0;  // int32 arithmetic from here
    do {
      const q = (w / 10) | 0;
      DIGITS[count++] = w - q * 10;
      w = q;
    } while (w > 0);
    while (count > 0) h = Math.imul(h ^ (48 + DIGITS[--count]), 0x01000193);
    return fmix32(h);
  }

  function keyGroupOfString(text, maxParallelism) {
    return (hashString(text) % maxParallelism) | 0;  // an int32: see KeyMemo
  }

  // The last integer key's hash: records in a row often share a key (a window's end or start
  // after a window operator), and an epoch-millisecond one has 13 digits to hash.
  let lastInteger = NaN, lastHash = 0;

  function keyGroupOf(key, maxParallelism) {
    if (typeof key === "number" && Number.isSafeInteger(key)) {
      if (key !== lastInteger) {
        lastHash = hashInteger(key);
        lastInteger = key;
      }
      return (lastHash % maxParallelism) | 0;
    }
    return (hashString(keyString(key)) % maxParallelism) | 0;
  }

  // The key string and key group of each record's key, for a keyed operator's input (one per
  // chain): group(key) returns the key group and leaves the key string in `string`. Integer keys
  // from 0 to 2^32 - 1 (q7's `auction % 64`, q11's bidders, q5's auctions) are kept in a table of
  // 4,096 slots, slot key % 4,096, filled as they come (a key takes its slot from another): a
  // key seen lately is found without making its string or hashing it, and its string is the same
  // object each time (whose hash V8 keeps: the state cache's Map finds it without hashing it
  // again). Another number equal to the record before's (a window's end after a window operator)
  // reuses its answer. Anything else is keyString and hashString, as
  // keyGroupOfString(keyString(key)). Key groups are int32 values (`| 0`): a hash is a uint32,
  // and V8 computes `hash % maxParallelism` as a double; stored as it is, one such key group
  // makes every object field that holds key groups (the state cache's entries) a boxed double,
  // a further pointer to follow on every lookup.
  // Integer keys are hashed without their strings (hashInteger, the same group). A memo made with
  // strings = false (a combiner's, which knows integer keys by their number: combiner.js idOf)
  // does not make those strings at all, and leaves `string` "" for them.
  const SLOTS = 4096;
  class KeyMemo {
    constructor(maxParallelism, strings = true) {
      this.maxParallelism = maxParallelism;
      this.strings = strings;
      this.string = "";
      this.slotKeys = new Float64Array(SLOTS).fill(NaN);
      this.slotGroups = new Int32Array(SLOTS);
      this.slotStrings = new Array(SLOTS).fill("");
      this.lastNumber = NaN;
      this.lastString = "";
      this.lastGroup = 0;
    }
    // A key seen lately in a few instructions (the driver calls this for every record, and V8
    // inlines a small function); anything else in groupSlow. The slots hold NaN until filled,
    // and only keys from 0 to 2^32 - 1, so no other number finds a slot's key equal to it.
    group(key) {
      if (typeof key === "number") {
        const slot = key & (SLOTS - 1);
        if (this.slotKeys[slot] === key) {
          this.string = this.slotStrings[slot];
          return this.slotGroups[slot];
        }
      }
      return this.groupSlow(key);
    }
    groupSlow(key) {
      if (typeof key === "number") {
        if ((key >>> 0) === key) {
          const slot = key & (SLOTS - 1);
          const text = this.strings ? String(key) : "";
          const g = (hashInteger(key) % this.maxParallelism) | 0;  // = hashString(String(key))
          this.slotKeys[slot] = key;
          this.slotGroups[slot] = g;
          this.slotStrings[slot] = text;
          this.string = text;
          return g;
        }
        if (key !== this.lastNumber) {
          this.lastString = String(key);
          this.lastGroup = (hashString(this.lastString) % this.maxParallelism) | 0;
          this.lastNumber = key;
        }
        this.string = this.lastString;
        return this.lastGroup;
      }
      const text = keyString(key);
      this.string = text;
      return (hashString(text) % this.maxParallelism) | 0;
    }
  }

  function targetOf(keyGroup, maxParallelism, targets) {
    return Math.floor((keyGroup * targets) / maxParallelism);
  }

  // The error of a record whose key is not this subtask's, behind a keyBy that is already
  // partitioned (the driver checks each key group). Only the user's mark,
  // keyBy(fn, { partitioned: true }), can be wrong: a window's records keyed by their own key
  // (c => c.key) are on their subtask by construction, so the message speaks of the mark.
  function notPartitioned(keyText, keyGroup, first, last, subtask, parallelism) {
    return new Error("the key " + JSON.stringify(keyText) + " is in key group " + keyGroup +
        ", which subtask " + subtask + " of " + parallelism + " does not own (it owns key groups " +
        first + "-" + last + "): keyBy(..., { partitioned: true }) says the stream is already " +
        "partitioned by this key, and it is not; drop partitioned: true to repartition it");
  }

  return Object.freeze({ keyString, hashString, hashInteger, keyGroupOfString, keyGroupOf, targetOf,
                         KeyMemo, notPartitioned });
})()
