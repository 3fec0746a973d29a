// The receiving half of the exchange's batch codec (codec.js describes the format): a columnar
// batch's records, and the event times of a JSON-lines batch. The chain's driver gets both
// halves as one `codec` object (v8_chain_runner.cc merges them).
//
// The script's completion value is a frozen object { decode, linesTimes }.
(function () {
  "use strict";

  const MAX_KEYS = 256;        // as codec.js
  const MAX_GROUP_KEYS = 16;   // as codec.js
  const MAX_DECODERS = 256;    // generated decoders kept per isolate
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const isArray = Array.isArray;

  // The event times of a JSON-lines batch (see TIMES_MARK), as [times, offset of the first
  // record line], or null when the batch has none.
  function linesTimes(text) {
    if (text.length === 0 || text.charCodeAt(0) !== 2) return null;
    let e = text.indexOf("\n");
    if (e < 0) throw corrupt("no line after the event times");
    const times = parse(text.slice(1, e));
    if (!isArray(times)) throw corrupt("bad event times");
    for (let i = 0; i < times.length; i++) if (times[i] === null) times[i] = NaN;
    return [times, e + 1];
  }

  function corrupt(what) {
    return new Error("corrupt columnar batch: " + what);
  }

  // Per (types, keys): a generated function (c, d, strs, parse) -> at, where at(i) builds record i
  // from the prepared columns c (see decode) with an object literal: one hidden class, literal
  // keys, and nothing materialised ahead (the records of a batch are made one at a time, as the
  // chain takes them, so they die young like JSON.parse's).
  const decoders = new Map();

  function decoderFor(top, groups, types) {
    const signature = types + stringify(top) + (groups === null ? "" : stringify(groups));
    let decoder = decoders.get(signature);
    if (decoder !== undefined) return decoder;
    let body = "";
    const values = [];
    const keys = [];
    for (let t = 0; t < top.length; t++) {
      const group = groups === null ? 0 : groups[t];
      if (group === 0) keys.push(top[t]);
      else for (const k of group) keys.push(k);
    }
    if (keys.length !== types.length) throw corrupt("types do not match the keys");
    for (let j = 0; j < keys.length; j++) {
      if (typeof keys[j] !== "string" || keys[j] === "__proto__") throw corrupt("bad key");
      const c = "c" + j;
      body += "const " + c + " = c[" + j + "];\n";
      let value;
      switch (types[j]) {
        case "k": value = c; break;
        case "n": value = c + "[i]"; break;
        case "b": value = c + "[i] !== 0"; break;
        case "d": body += "const d" + j + " = d[" + j + "];\n"; value = "d" + j + "[" + c + "[i]]"; break;
        case "s": value = "strs[" + c + " + i]"; break;
        case "j": value = "parse(strs[" + c + " + i])"; break;
        default: throw corrupt("unknown column type " + stringify(types[j]));
      }
      values.push(value);
    }
    let fields = "", j = 0;
    for (let t = 0; t < top.length; t++) {
      if (typeof top[t] !== "string" || top[t] === "__proto__") throw corrupt("bad key");
      const group = groups === null ? 0 : groups[t];
      let value;
      if (group === 0) {
        value = values[j++];
      } else {
        value = "{";
        for (let g = 0; g < group.length; g++) {
          value += (g === 0 ? "" : ", ") + stringify(group[g]) + ": " + values[j++];
        }
        value += "}";
      }
      fields += (t === 0 ? "" : ", ") + stringify(top[t]) + ": " + value;
    }
    body += "return function at(i) {\nreturn {" + fields + "};\n};\n";
    decoder = new Function("c", "d", "strs", "parse", body);
    if (decoders.size >= MAX_DECODERS) decoders.clear();
    decoders.set(signature, decoder);
    return decoder;
  }

  function checkIndexes(nums, pos, n, size) {
    for (let i = 0; i < n; i++) {
      const k = nums[pos + i];
      if (!(k >= 0 && k < size && Number.isInteger(k))) throw corrupt("bad dictionary index");
    }
  }

  // A columnar batch's records: {n, at} with at(i) the i-th record. strs holds the batch's
  // strings (s and j columns, in key order), each its own string: made by C++ one by one, so a
  // record kept in keyed state does not keep the whole batch alive (as slices of one string
  // would).
  function decode(header, nums, strs) {
    const h = parse(header);
    if (h === null || typeof h !== "object") throw corrupt("bad header");
    const n = h.n, keys = h.keys, types = h.types, x = h.x;
    const groups = h.g === undefined ? null : h.g;
    if (!Number.isInteger(n) || n < 0 || !isArray(keys) || typeof types !== "string" ||
        !isArray(x) || x.length !== types.length || keys.length > MAX_KEYS) {
      throw corrupt("bad header");
    }
    let columns = keys.length;
    if (groups !== null) {
      if (!isArray(groups) || groups.length !== keys.length) throw corrupt("bad groups");
      columns = 0;
      for (const g of groups) {
        if (g === 0) {
          columns++;
        } else if (isArray(g) && g.length > 0 && g.length <= MAX_GROUP_KEYS) {
          columns += g.length;
        } else {
          throw corrupt("bad groups");
        }
      }
    }
    if (types.length !== columns) throw corrupt("bad header");
    const m = columns;
    const c = new Array(m), d = new Array(m);
    let pos = 0, sp = 0;
    for (let j = 0; j < m; j++) {
      const t = types[j];
      if (t === "k") {
        c[j] = x[j];
        continue;
      }
      if (t === "s" || t === "j") {
        if (sp + n > strs.length) throw corrupt("too few strings");
        c[j] = sp;
        sp += n;
        continue;
      }
      if (pos + n > nums.length) throw corrupt("too few numbers");
      c[j] = nums.subarray(pos, pos + n);
      if (t === "d") {
        if (!isArray(x[j])) throw corrupt("no dictionary");
        for (const s of x[j]) if (typeof s !== "string") throw corrupt("bad dictionary");
        checkIndexes(nums, pos, n, x[j].length);
        d[j] = x[j];
      }
      pos += n;
    }
    let times = null;
    if (h.t === 1) {
      if (pos + n > nums.length) throw corrupt("too few numbers");
      times = nums.subarray(pos, pos + n);
      pos += n;
    }
    if (pos !== nums.length || sp !== strs.length) throw corrupt("sizes do not add up");
    return {n: n, at: decoderFor(keys, groups, types)(c, d, strs, parse), times: times};
  }


  return Object.freeze({decode: decode, linesTimes: linesTimes});
})()
