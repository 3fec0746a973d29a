// The exchange's batch codec: what a sending chain's partitioned output holds per target, and
// how a receiving chain turns it back into records. The contract is exactness: every record the
// receiver gets is a value whose JSON.stringify is the sender's JSON.stringify of the record
// (the same as with JSON lines, which stay the fallback).
//
// Per target and batch, a Target collects records as they leave the chain. While every record
// is a plain object (prototype Object.prototype or null, not an array, no callable toJSON) with
// the same own enumerable keys in the same order (as Object.keys; checked with a for-in, so an
// enumerable property on Object.prototype makes every record a misfit), none "__proto__", and
// no value JSON.stringify would omit (undefined, a function, a symbol, a nested toJSON returning
// undefined), it keeps one array of values per key: primitives as they are, anything else
// (objects, arrays, Dates, boxed primitives, bigints — which throw as JSON.stringify would) as
// its JSON text, taken at once (a later mutation of the record must not change what was sent).
// The first misfit turns the target into JSON lines: the records so far rewritten from their
// columns (exact: a record's JSON is "{" + "\"key\":" + JSON(value) + ... + "}"), later ones
// JSON.stringify-ed. Groups: a value of the batch's first record that is a plain object of 1 to
// 16 keys (none "__proto__") with primitive values — a window's {start, end} — has a column per
// key (a "leaf"), numbers sent as numbers; the first record without it (same keys, in order)
// turns every group into a JSON column (rebuilt from the leaves: exact) and goes on as a record
// of the plain shape.
//
// finish() returns "" (no records), a string of JSON lines, or a columnar batch
// [header, nums, lens, texts] that the C++ side frames (v8_batch_io.cc): the header's JSON
// {"n", "keys", "types", "x"} ("g": per key 0 or its group's keys; "t": 1 when event times
// follow the columns' numbers in nums, NaN for none), a type letter and an x per column —
// k constant x[j]; n finite numbers, b booleans, d indexes into the dictionary x[j], in nums;
// s strings, j JSON texts of anything else, their lengths in lens — nums a Float64Array, lens a
// Uint32Array, and texts the s and j strings joined in runs (worker/js/README.md, "The exchange
// codec"). codec_decode.js is the receiving half. The completion value is a frozen { Target }.
(function () {
  "use strict";

  const MAX_KEYS = 256;        // wider records are sent as JSON lines
  const DICT_MIN = 16;         // a dictionary while at most 16 + 1/4 of the values are distinct
  const MAX_DECODERS = 256;    // generated shape encoders and decoders kept per isolate
  const stringify = JSON.stringify;
  const objectKeys = Object.keys;
  const getPrototypeOf = Object.getPrototypeOf;
  const isArray = Array.isArray;
  const OBJECT_PROTOTYPE = Object.prototype;

  function isPlain(r) {
    if (typeof r !== "object" || r === null || isArray(r)) return false;
    const proto = getPrototypeOf(r);
    if (proto !== OBJECT_PROTOTYPE && proto !== null) return false;
    return typeof r.toJSON !== "function";
  }

  class Target {
    // maxRecord: the longest JSON a record may have (0: no limit); tooBig(length, limit) makes
    // the error thrown for a longer one.
    constructor(maxRecord, tooBig) {
      this.buffer = new Float64Array(0);  // reused from batch to batch (see numbers())
      this.lengthBuffer = new Uint32Array(0);
      this.timeSlots = new Float64Array(64);  // the event times, reused likewise
      this.maxRecord = maxRecord > 0 ? maxRecord : 0;
      this.tooBig = tooBig;
      this.reset();
    }

    // Forgets the records so far: the start of a batch.
    reset() {
      this.mode = 0;  // 0 nothing yet, 1 columnar, 2 JSON lines
      this.n = 0;
      this.shape = null;
      this.keys = null;    // per column: its key (a group's key for the columns of a group)
      this.quoted = null;  // JSON.stringify(key) per column
      this.cols = null;
      this.json = null;  // per key: the column holds JSON texts
      this.anyJson = false;
      this.fast = null;  // the shape's generated append
      this.lines = null;
      this.times = null;  // event times (NaN: none), once a record had one: timeSlots[0, nTimes)
      this.nTimes = 0;
    }

    // Adds one record with its event time t (a number, or undefined for none); false when
    // JSON.stringify(r) is undefined (not JSON at all).
    add(r, t) {
      if (t !== undefined || this.times !== null) this.addTime(t);
      if (this.mode === 1) {
        if (this.append(r)) return true;
        this.toLines();
      } else if (this.mode === 0) {
        if (this.start(r) && this.append(r)) return true;
        this.toLines();
      }
      const j = stringify(r);
      if (j === undefined) {
        if (this.times !== null) this.nTimes--;
        return false;
      }
      if (this.maxRecord > 0 && j.length > this.maxRecord) {
        throw this.tooBig(j.length, this.maxRecord);
      }
      this.lines.push(j);
      return true;
    }

    // Throws tooBig when a record of the columns (types: columnTypes) is longer than maxRecord
    // as JSON. A bound first — the keys' text, 24 characters per number, boolean or null, a
    // string escaped at 6 characters per code unit, a JSON text as it is, each column at its
    // longest — and only when that bound is over the limit the exact lines (as JSON lines).
    checkRecordSizes(types) {
      const cols = this.cols, json = this.json, m = this.keys.length;
      let bound = 2 + 6 * this.shape.top.length;  // braces; a group's key, braces and comma
      for (let t = 0; t < this.shape.top.length; t++) bound += this.shape.top[t].length * 6 + 2;
      for (let j = 0; j < m; j++) {
        const c = cols[j], type = types[j];
        let longest = 24;  // n and b columns: finite numbers and booleans
        if (type === "k") {
          if (typeof c[0] === "string") longest = 6 * c[0].length + 2;
        } else if (json[j]) {
          for (let i = 0; i < this.n; i++) if (c[i].length > longest) longest = c[i].length;
        } else if (type === "s" || type === "j") {
          for (let i = 0; i < this.n; i++) {
            const v = c[i];
            if (typeof v === "string" && 6 * v.length + 2 > longest) longest = 6 * v.length + 2;
          }
        }
        bound += this.quoted[j].length + 2 + longest;
        if (bound > this.maxRecord) break;
      }
      if (bound <= this.maxRecord) return;
      this.toLines();
      for (let i = 0; i < this.lines.length; i++) {
        const length = this.lines[i].length;
        if (length > this.maxRecord) throw this.tooBig(length, this.maxRecord);
      }
    }

    addTime(t) {
      if (this.times === null) {  // NaN for the records so far
        this.times = this.timeSlots;
        for (let i = this.mode === 2 ? this.lines.length : this.n; i > 0; i--) this.pushTime(NaN);
      }
      this.pushTime(t === undefined ? NaN : t);
    }

    pushTime(t) {
      if (this.nTimes === this.times.length) {
        (this.timeSlots = new Float64Array(2 * this.nTimes)).set(this.times);
        this.times = this.timeSlots;
      }
      this.times[this.nTimes++] = t;
    }

    start(r) {
      if (!isPlain(r)) return false;
      const keys = objectKeys(r);
      const shape = shapeOf(keys, groupsOf(r, keys));
      if (shape === null) return false;
      return this.use(shape);
    }

    // Empty columns of `shape` (start of a batch).
    use(shape) {
      const m = shape.keys.length, cols = new Array(m), json = new Array(m);
      for (let j = 0; j < m; j++) {
        cols[j] = [];
        json[j] = false;
      }
      this.mode = 1;
      this.anyJson = false;
      this.adopt(shape, cols, json);
      return true;
    }

    adopt(shape, cols, json) {
      this.shape = shape;
      this.keys = shape.keys;
      this.quoted = shape.quoted;
      this.fast = shape.append;
      this.cols = cols;
      this.json = json;
    }

    append(r) {
      // The shape's generated code checks the record and appends it when all its values are
      // primitives and no column holds JSON texts; 1 = appended, 0 = does not fit, otherwise
      // the values it read, for appendValues.
      const done = this.fast(r, this.cols, this.anyJson);
      if (done === 1) {
        this.n++;
        return true;
      }
      if (done === 2) return this.ungroupAndAppend(r);  // the keys fit, a group does not
      return done !== 0 && this.appendValues(done, r);
    }

    ungroupAndAppend(r) {
      this.ungroup();
      return this.append(r);
    }

    // Turns every group into one JSON column ({"key":JSON(value),...} from its leaves) and goes
    // on with the plain shape of the same keys.
    ungroup() {
      const shape = this.shape, plain = shapeOf(shape.top, null);
      const cols = [], json = [];
      let q = 0;
      for (let t = 0; t < shape.top.length; t++) {
        const group = shape.groups[t];
        if (group === 0) {
          cols.push(this.cols[q]);
          json.push(this.json[q]);
          q++;
          continue;
        }
        const texts = new Array(this.n);
        for (let i = 0; i < this.n; i++) {
          let text = "{";
          for (let g = 0; g < group.length; g++) {
            const v = this.cols[q + g][i];
            text += (g === 0 ? "" : ",") + this.quoted[q + g] + ":" +
                (this.json[q + g] ? v : stringify(v));
          }
          texts[i] = text + "}";
        }
        cols.push(texts);
        json.push(true);
        this.anyJson = true;
        q += group.length;
      }
      this.adopt(plain, cols, json);
    }

    // Appends record r of this shape from its values (read once, in key order). A value JSON
    // would omit ends the columns, unless it is in a group: the groups become JSON columns.
    appendValues(values, r) {
      const keys = this.keys;
      const m = keys.length;
      const cols = this.cols, json = this.json;
      for (let j = 0; j < m; j++) {
        const v = values[j];
        const t = typeof v;
        if (t === "string" || t === "number" || t === "boolean" || v === null) {
          cols[j].push(json[j] ? stringify(v) : v);
        } else if (t === "object" || t === "bigint") {
          const text = this.nested(j, v);
          if (text === undefined) {
            this.truncate(j);
            return this.shape.inGroup[j] ? this.ungroupAndAppend(r) : false;
          }
          if (!json[j]) this.toJsonColumn(j);
          this.anyJson = true;
          cols[j].push(text);
        } else {  // undefined, function, symbol: JSON omits the key
          this.truncate(j);
          return this.shape.inGroup[j] ? this.ungroupAndAppend(r) : false;
        }
      }
      this.n++;
      return true;
    }

    // The JSON text of a nested value as JSON.stringify(record) writes it (toJSON gets the
    // key), or undefined when JSON would omit it.
    nested(j, v) {
      // Only a toJSON method sees the key; without one the value's own JSON is the same.
      if (typeof v.toJSON !== "function") return stringify(v);
      const wrapper = {};
      wrapper[this.keys[j]] = v;
      const s = stringify(wrapper);
      if (s.length === 2) return undefined;  // "{}"
      return s.slice(this.quoted[j].length + 2, s.length - 1);  // {"key":...}
    }

    toJsonColumn(j) {
      const c = this.cols[j];
      for (let i = 0; i < c.length; i++) c[i] = stringify(c[i]);
      this.json[j] = true;
    }

    truncate(j) {
      for (let q = 0; q < j; q++) this.cols[q].length = this.n;
    }

    toLines() {
      const lines = [];
      if (this.mode === 1 && this.shape.grouped) this.ungroup();
      if (this.mode === 1) {
        const m = this.keys.length, cols = this.cols, json = this.json, quoted = this.quoted;
        for (let i = 0; i < this.n; i++) {
          let s = "{";
          for (let j = 0; j < m; j++) {
            const v = cols[j][i];
            s += (j === 0 ? "" : ",") + quoted[j] + ":" + (json[j] ? v : stringify(v));
          }
          lines.push(s + "}");
        }
      }
      this.mode = 2;
      this.cols = null;
      this.lines = lines;
    }

    // The batch for this target ("" when empty, JSON lines or [header, nums, lens, blob]); the
    // target is empty again afterwards. nums and lens are views of this target's buffers,
    // valid until its next finish() (C++ copies them when the call returns).
    finish() {
      let out = "";
      if (this.mode === 1 && this.n > 0) {
        const types = columnTypes(this.cols, this.json, this.n);
        if (this.maxRecord > 0) this.checkRecordSizes(types);
        if (this.mode === 1) {
          out = encode(this, this.shape, this.cols, this.json, this.n, this.times, types);
        }
      }
      if (this.mode === 2 && this.lines.length > 0) {
        this.lines.push("");
        out = this.lines.join("\n");
        const times = this.times === null ? null : this.times.subarray(0, this.nTimes);
        if (times !== null) out = TIMES_MARK + stringify(Array.from(times)) + "\n" + out;
      }
      this.reset();
      return out;
    }

    // count float64 slots: allocating a fresh ArrayBuffer per batch costs more than the
    // encoding of a few hundred records.
    numbers(count) {
      if (this.buffer.length < count) {
        this.buffer = new Float64Array(Math.max(count, 2 * this.buffer.length));
      }
      return this.buffer;
    }

    lengths(count) {
      if (this.lengthBuffer.length < count) {
        this.lengthBuffer = new Uint32Array(Math.max(count, 2 * this.lengthBuffer.length));
      }
      return this.lengthBuffer;
    }
  }

  const MAX_GROUP_KEYS = 16;

  // The groups of a batch's first record (see "Groups"): per key 0, or the keys of its value
  // when that is a group; null when there is none.
  function groupsOf(r, keys) {
    let groups = null;
    for (let t = 0; t < keys.length; t++) {
      const v = r[keys[t]];
      if (typeof v !== "object" || v === null || !isPlain(v)) continue;
      const sub = objectKeys(v);
      if (sub.length === 0 || sub.length > MAX_GROUP_KEYS) continue;
      let ok = true;
      for (let g = 0; g < sub.length && ok; g++) {
        const x = v[sub[g]];
        const type = typeof x;
        ok = sub[g] !== "__proto__" && (type === "string" || type === "number" ||
            type === "boolean" || x === null);
      }
      if (!ok) continue;
      if (groups === null) groups = new Array(keys.length).fill(0);
      groups[t] = sub;
    }
    return groups;
  }

  // Per shape (its keys' and groups' JSON): the top-level keys (top), their groups (per key 0
  // or the group's keys), the columns' keys and their JSON texts, and a generated function
  //   append(r, cols, anyJson) -> 1 | 0 | 2 | values
  // that checks that r is a plain object with exactly these keys (and groups with exactly
  // theirs: 2 when only a group does not fit) and reads its values once (literal property
  // names: one inline cache per key). The checks allocate nothing (plainCheck, sameKeys).
  const shapes = new Map();

  function shapeOf(top, groups) {
    const mt = top.length;
    if (mt > MAX_KEYS) return null;
    const id = stringify(top) + (groups === null ? "" : stringify(groups));
    let shape = shapes.get(id);
    if (shape !== undefined) return shape;
    const keys = [], quoted = [], inGroup = [];
    // The key lists the generated code compares with (K: the record's, Gt: group t's).
    const names = ["K"], lists = [top];
    let read = "", groupCheck = "";
    for (let t = 0; t < mt; t++) {
      if (top[t] === "__proto__") return null;
      const q = stringify(top[t]);
      const group = groups === null ? 0 : groups[t];
      if (group === 0) {
        read += "const v" + keys.length + " = r[" + q + "];\n";
        keys.push(top[t]);
        quoted.push(q);
        inGroup.push(false);
        continue;
      }
      const o = "o" + t, gk = "G" + t;
      groupCheck += "const " + o + " = r[" + q + "];\n" +
          "if (typeof " + o + " !== \"object\" || " + o + " === null" + plainCheck(o, "2") +
          sameKeys(o, gk, group.length, "2");
      names.push(gk);
      lists.push(group);
      for (let g = 0; g < group.length; g++) {
        const sq = stringify(group[g]);
        read += "const v" + keys.length + " = " + o + "[" + sq + "];\n";
        keys.push(group[g]);
        quoted.push(sq);
        inGroup.push(true);
      }
    }
    let prim = "", push = "", list = "";
    for (let j = 0; j < keys.length; j++) {
      prim += " && (typeof v" + j + " === \"string\" || typeof v" + j + " === \"number\" || " +
          "typeof v" + j + " === \"boolean\" || v" + j + " === null)";
      push += "cols[" + j + "].push(v" + j + ");\n";
      list += (j === 0 ? "" : ", ") + "v" + j;
    }
    const body = "return function append(r, cols, anyJson) {\n" +
        "if (typeof r !== \"object\" || r === null" + plainCheck("r", "0") +
        sameKeys("r", "K", mt, "0") + groupCheck + read +
        "if (!anyJson" + prim + ") {\n" + push + "return 1;\n}\n" +
        "return [" + list + "];\n};\n";
    const make = new Function("isArray", "getPrototypeOf", "OBJECT_PROTOTYPE", ...names, body);
    shape = {top: top, groups: groups === null ? new Array(mt).fill(0) : groups,
             grouped: groups !== null, keys: keys, quoted: quoted, inGroup: inGroup,
             append: make(isArray, getPrototypeOf, OBJECT_PROTOTYPE, ...lists)};
    if (shapes.size >= MAX_DECODERS) shapes.clear();
    shapes.set(id, shape);
    return shape;
  }

  // Generated code: the rest of isPlain(o) (a call there is not inlined); returns `fail`.
  function plainCheck(o, fail) {
    return " || isArray(" + o + ")) return " + fail + ";\n" +
        "{\nconst p = getPrototypeOf(" + o + ");\n" +
        "if (p !== OBJECT_PROTOTYPE && p !== null || typeof " + o + ".toJSON === \"function\") " +
        "return " + fail + ";\n}\n";
  }

  // Generated code: returns `fail` unless plain object o's keys are list `name`'s (`count`
  // keys), in order. A for-in over it gives Object.keys(o), then any enumerable keys a script
  // put on Object.prototype (a misfit then); unlike Object.keys it allocates nothing.
  function sameKeys(o, name, count, fail) {
    return "{\nlet i = 0;\nfor (const k in " + o + ") {\n" +
        "if (i === " + count + " || k !== " + name + "[i]) return " + fail + ";\ni++;\n}\n" +
        "if (i !== " + count + ") return " + fail + ";\n}\n";
  }

  // The type letter of a column of primitives (see above).
  function classify(c, n) {
    const v0 = c[0];
    const t0 = typeof v0;
    let same = true;
    if (t0 === "number") {
      let finite = v0 - v0 === 0;
      for (let i = 1; i < n; i++) {
        const v = c[i];
        if (typeof v !== "number") return "j";
        if (v - v !== 0) finite = false;
        if (v !== v0) same = false;
      }
      if (same && finite) return "k";
      return finite ? "n" : "j";
    }
    if (t0 === "string") {
      for (let i = 1; i < n; i++) {
        const v = c[i];
        if (typeof v !== "string") return "j";
        if (v !== v0) same = false;
      }
      return same ? "k" : "s";
    }
    if (t0 === "boolean") {
      for (let i = 1; i < n; i++) {
        const v = c[i];
        if (typeof v !== "boolean") return "j";
        if (v !== v0) same = false;
      }
      return same ? "k" : "b";
    }
    for (let i = 1; i < n; i++) {
      if (c[i] !== null) return "j";
    }
    return "k";  // all null
  }

  // The type letters of n records' columns (d columns are s here: encode tries a dictionary).
  function columnTypes(cols, json, n) {
    const m = cols.length, types = new Array(m);
    for (let j = 0; j < m; j++) types[j] = json[j] ? "j" : classify(cols[j], n);
    return types;
  }

  function encode(target, shape, cols, json, n, times, types) {
    const m = shape.keys.length;
    const x = new Array(m);
    let count = 0;
    for (let j = 0; j < m; j++) {
      const t = types[j];
      x[j] = t === "k" ? cols[j][0] : 0;
      if (t !== "k") count += n;
    }
    // Numbers (n, b, d columns) at pos; string lengths (s, j columns) at sp.
    const nums = target.numbers(count + (times === null ? 0 : n));
    const lens = target.lengths(count);
    const parts = [];
    let pos = 0, sp = 0;
    for (let j = 0; j < m; j++) {
      const c = cols[j];
      switch (types[j]) {
        case "k":
          continue;
        case "n":
          writeNumbers(c, n, nums, pos);
          break;
        case "b":
          writeBooleans(c, n, nums, pos);
          break;
        case "s": {
          const dict = tryDictionary(c, n, nums, pos);
          if (dict !== null) {
            types[j] = "d";
            x[j] = dict;
            break;
          }
          writeTexts(c, n, lens, sp, parts);
          sp += n;
          continue;
        }
        default: {  // j: texts (a JSON column) or primitives to stringify
          const texts = json[j] ? c : c.map((v) => stringify(v));
          writeTexts(texts, n, lens, sp, parts);
          sp += n;
          continue;
        }
      }
      pos += n;
    }
    const h = {n: n, keys: shape.top, types: types.join(""), x: x};
    if (shape.grouped) h.g = shape.groups;
    if (times !== null) {
      for (let i = 0; i < n; i++) nums[pos + i] = times[i];
      pos += n;
      h.t = 1;
    }
    const header = stringify(h);
    return [header, nums.subarray(0, pos), lens.subarray(0, sp), parts];
  }

  // The column loops live in small functions of their own, so that each is optimised for the
  // few kinds of arrays it sees (encode() itself deoptimises as the column types vary).
  function writeNumbers(c, n, nums, pos) {
    for (let i = 0; i < n; i++) nums[pos + i] = c[i] + 0;  // -0 + 0 is 0
  }

  function writeBooleans(c, n, nums, pos) {
    for (let i = 0; i < n; i++) nums[pos + i] = c[i] ? 1 : 0;
  }

  // Writes the lengths of the strings c[0..n) to lens[pos..] and pushes the strings onto parts,
  // joined in runs of about TEXT_CHUNK code units: a join is much faster than C++ taking them
  // one by one, and a string under V8's large-object size (128 KB) is young-generation memory,
  // where a bigger one is a fresh mapping whose every page the kernel first zeroes.
  const TEXT_CHUNK = 32768;
  function writeTexts(c, n, lens, pos, parts) {
    let start = 0, units = 0;
    for (let i = 0; i < n; i++) {
      const length = c[i].length;
      lens[pos + i] = length;
      units += length;
      if (units >= TEXT_CHUNK) {
        parts.push(start === i ? c[i] : c.slice(start, i + 1).join(""));
        start = i + 1;
        units = 0;
      }
    }
    if (start === 0) parts.push(c.length === n ? c.join("") : c.slice(0, n).join(""));
    else if (start < n) parts.push(c.slice(start, n).join(""));
  }

  // Writes dictionary indexes of the strings in c to nums[pos..] and returns the dictionary,
  // or null when the column has too many distinct values.
  function tryDictionary(c, n, nums, pos) {
    const index = new Map();
    const dict = [];
    for (let i = 0; i < n; i++) {
      const s = c[i];
      let k = index.get(s);
      if (k === undefined) {
        // Give up as soon as more than a quarter of the values so far were new.
        if (dict.length >= DICT_MIN + (i >> 2)) return null;
        k = dict.length;
        dict.push(s);
        index.set(s, k);
      }
      nums[pos + i] = k;
    }
    return dict;
  }

  // JSON lines with event times start with this character and a line holding the times as a
  // JSON array (null: none); no JSON line starts with it.
  const TIMES_MARK = "\u0002";

  return Object.freeze({Target: Target});
})()
