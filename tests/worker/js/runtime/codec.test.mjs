// worker/js/runtime/codec.js and codec_decode.js in Node: every batch a Target makes, decoded as
// the receiving chain decodes it, gives each record's JSON.stringify and event time, in order —
// whatever the records' shapes do within a batch (key orders, fields missing or added, groups
// that change, null prototypes, an enumerable property on Object.prototype). The C++ suites
// (tests/worker/js/codec_test.cc) check the same through the chain runner; this one drives the
// shape checks the encoder generates with many more batches.
import assert from "node:assert/strict";
import test from "node:test";
import { load } from "./helpers.mjs";

const { Target } = load("codec.js");
const { decode, linesTimes } = load("codec_decode.js");

const tooBig = (length, limit) => new RangeError("too big: " + length + " > " + limit);

// What the receiver gets from finish()'s output: [JSON per record, event time per record
// (null: none)], as v8_batch_io.cc frames a columnar batch (each string of the blob its own).
function received(out) {
  if (out === "") return [[], []];
  if (typeof out === "string") {
    const lt = linesTimes(out);
    const text = lt === null ? out : out.slice(lt[1]);
    const lines = text.split("\n");
    assert.equal(lines.pop(), "");
    const times = lt === null ? lines.map(() => null) : lt[0].map((t) => (t !== t ? null : t));
    assert.equal(times.length, lines.length);
    return [lines.map((l) => JSON.stringify(JSON.parse(l))), times];
  }
  const [header, nums, lens, parts] = out;
  const blob = parts.join("");
  const strs = [];
  let at = 0;
  for (const length of lens) {
    strs.push(blob.slice(at, at + length));
    at += length;
  }
  assert.equal(at, blob.length);
  const batch = decode(header, Float64Array.from(nums), strs);
  const json = [], times = [];
  for (let i = 0; i < batch.n; i++) {
    json.push(JSON.stringify(batch.at(i)));
    times.push(batch.times === null || batch.times[i] !== batch.times[i] ? null : batch.times[i]);
  }
  return [json, times];
}

// Sends `records` (with `times`, undefined: none) through one target as one batch; checks what
// arrives and returns whether the batch was columnar.
function roundTrip(target, records, times, what) {
  const expected = [], expectedTimes = [];
  for (let i = 0; i < records.length; i++) {
    const j = JSON.stringify(records[i]);
    assert.equal(target.add(records[i], times[i]), j !== undefined, what);
    if (j === undefined) continue;
    expected.push(j);
    expectedTimes.push(times[i] === undefined ? null : times[i]);
  }
  const out = target.finish();
  const [json, got] = received(out);
  assert.deepEqual(json, expected, what);
  if (expectedTimes.some((t) => t !== null)) assert.deepEqual(got, expectedTimes, what);
  return Array.isArray(out);
}

function columnar(records, times = []) {
  return roundTrip(new Target(0, tooBig), records, times, JSON.stringify(records));
}

test("records of one shape are columnar, and a batch falls back to JSON lines when one differs", () => {
  const w = (start, end) => ({ start, end });
  assert.equal(columnar([{ key: 1, window: w(0, 10), value: 3 }, { key: 2, window: w(0, 10), value: 4 }]), true);
  // Keys in another order, one missing, one more: the record does not fit.
  assert.equal(columnar([{ a: 1, b: 2 }, { b: 2, a: 1 }]), false);
  assert.equal(columnar([{ a: 1, b: 2 }, { a: 1 }]), false);
  assert.equal(columnar([{ a: 1 }, { a: 1, b: 2 }]), false);
  assert.equal(columnar([{ a: 1, b: 2 }, { a: 1, c: 2 }]), false);
  // A group whose keys change order, lose or gain one: the group becomes a JSON column.
  assert.equal(columnar([{ k: 1, w: w(1, 2) }, { k: 2, w: { end: 2, start: 1 } }]), true);
  assert.equal(columnar([{ k: 1, w: w(1, 2) }, { k: 2, w: { start: 1 } }]), true);
  assert.equal(columnar([{ k: 1, w: w(1, 2) }, { k: 2, w: { start: 1, end: 2, x: 3 } }]), true);
  assert.equal(columnar([{ k: 1, w: w(1, 2) }, { k: 2, w: [1, 2] }]), true);
  // Null prototypes fit with plain objects; other prototypes and toJSON do not.
  const bare = Object.assign(Object.create(null), { k: 3, w: Object.assign(Object.create(null), w(5, 6)) });
  assert.equal(columnar([{ k: 1, w: w(1, 2) }, bare]), true);
  assert.equal(columnar([{ a: 1 }, new (class A { constructor() { this.a = 2; } })()]), false);
  assert.equal(columnar([{ a: 1 }, { a: 2, toJSON() { return 7; } }]), false);
  assert.equal(columnar([{ a: 1 }, Object.defineProperty({}, "a", { value: 1, enumerable: false })]), false);
  // Numeric keys come first in both the record and its check.
  assert.equal(columnar([{ b: 1, 2: "x", 1: "y" }, { 1: "z", 2: "w", b: 0 }]), true);
});

test("an enumerable property on Object.prototype makes records go as JSON lines, still exact", () => {
  const records = [{ a: 1, w: { s: 1 } }, { a: 2, w: { s: 2 } }];
  assert.equal(columnar(records), true);
  Object.defineProperty(Object.prototype, "sluiceCodecTestExtra", {
    value: 1, enumerable: true, configurable: true, writable: true });
  try {
    assert.equal(columnar(records.map((r) => ({ ...r, w: { ...r.w } }))), false);
  } finally {
    delete Object.prototype.sluiceCodecTestExtra;
  }
  assert.equal(columnar(records), true);
});

test("event times survive a batch of any length and a fall back to JSON lines at any record", () => {
  const target = new Target(0, tooBig);
  for (const n of [1, 63, 64, 65, 200, 1000]) {
    for (const breakAt of [-1, 0, Math.floor(n / 2), n - 1]) {
      for (const firstTimed of [0, 1, Math.floor(n / 3)]) {
        const records = [], times = [];
        for (let i = 0; i < n; i++) {
          records.push(i === breakAt ? { key: i, other: true } : { key: i, window: { start: i, end: i + 1 }, value: i * 0.5 });
          times.push(i < firstTimed ? undefined : 1e12 + i);
        }
        const isColumnar = roundTrip(target, records, times, `n ${n} break ${breakAt} timed from ${firstTimed}`);
        assert.equal(isColumnar, breakAt < 0 || n === 1);  // one record is always one shape
      }
    }
  }
});

// Random batches over a few shapes and their near misses, with and without event times and a
// record size limit, against JSON.stringify.
test("random batches of changing shapes arrive exactly", () => {
  let x = 7;
  const rnd = (n) => { x = (Math.imul(x, 1103515245) + 12345) >>> 0; return (x >>> 8) % n; };
  const values = [0, -0, 1.5, NaN, Infinity, "s", "\u00e9", "", true, null, [1], { a: 1 }, undefined,
    new Date(5), 1e21];
  const value = () => (rnd(4) === 0 ? values[rnd(values.length)] : rnd(1000));
  const shapes = [
    () => ({ key: rnd(50), window: { start: 1000, end: 2000 }, value: rnd(9) }),
    () => ({ key: rnd(50), window: { end: 2000, start: 1000 }, value: rnd(9) }),
    () => ({ key: rnd(50), window: { start: value(), end: value() }, value: value() }),
    () => ({ key: rnd(50), window: { start: 1 }, value: 1 }),
    () => ({ key: rnd(50), value: rnd(9), window: { start: 1, end: 2 } }),
    () => ({ key: rnd(50), window: { start: 1, end: 2 } }),
    () => ({ key: value(), window: { start: 1, end: 2 }, value: value(), extra: 1 }),
    () => { const o = Object.create(null); o.key = rnd(5); o.window = { start: 1, end: 2 }; o.value = 0; return o; },
    () => ({ a: value(), b: value() }),
    () => ({ b: value(), a: value() }),
    () => ({}),
    () => value(),
  ];
  let columnarBatches = 0, lineBatches = 0;
  const targets = [new Target(0, tooBig), new Target(1 << 20, tooBig)];
  for (let b = 0; b < 600; b++) {
    const n = 1 + rnd(rnd(4) === 0 ? 300 : 20);
    const mostly = shapes[rnd(shapes.length)];
    const timed = rnd(3);
    const records = [], times = [];
    for (let i = 0; i < n; i++) {
      records.push(rnd(10) === 0 ? shapes[rnd(shapes.length)]() : mostly());
      times.push(timed === 0 || (timed === 1 && rnd(2) === 0) ? undefined : 1e12 + b * 1000 + i);
    }
    if (roundTrip(targets[b % 2], records, times, `batch ${b}`)) columnarBatches++;
    else lineBatches++;
  }
  assert.ok(columnarBatches > 100 && lineBatches > 100, `${columnarBatches} columnar, ${lineBatches} lines`);
});

test("the size limit still fails a record at its exact JSON length, with typed columns", () => {
  const target = new Target(47, tooBig);
  const ok = { key: 1, window: { start: 1, end: 2 }, value: 3 };  // 48 characters
  assert.throws(() => { target.add(ok, 1); target.finish(); }, /too big: 48 > 47/);
  target.reset();
  const fits = new Target(48, tooBig);
  roundTrip(fits, [ok, ok], [1, 2], "48 fits");  // (the bound is over 48: as JSON lines)
  const strings = new Target(30, tooBig);
  assert.throws(() => { strings.add({ s: "x".repeat(20) }); strings.add({ s: "y".repeat(30) }); strings.finish(); },
    /too big: 38 > 30/);
});
