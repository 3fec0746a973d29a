// Tests of the session timers of worker/js/runtime/window_sessions.js (the comment "Timers"
// there): a session that grows keeps its timer, which moves to the session's due time when it
// fires, also after a restore; timers of checkpoints taken before (namespace "start:end", one
// per window and time) still fire each window once. Run: node --test tests/worker/js/runtime/
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_PARALLELISM, TimerService, copy, harness, keys, prng, runtime } from "./window_harness.mjs";

const session10 = { assigner: { type: "session", gap: 10 }, function: "count" };

test("a session extended many times keeps one timer and fires once, at its end", () => {
  const h = harness(session10);
  for (let t = 0; t <= 200; t += 5) {
    h.add("a", {}, t);
    h.watermark(t - 1);
    assert.deepEqual(h.take(), [], "nothing fires before the session ends (ts " + t + ")");
    assert.equal(h.timerCount(), 1, "one timer (ts " + t + ")");
  }
  h.watermark(208);
  assert.deepEqual(h.take(), []);
  h.watermark(209);
  assert.deepEqual(h.take(), [["a", [0, 210], 41, 209]]);
  h.assertEmpty();
});

test("the stale timer of a grown session moves to its end; other keys fire in between", () => {
  const h = harness(session10);
  h.add("a", {}, 0);   // timer at 9
  h.add("a", {}, 8);   // [0,18): the timer stays at 9
  h.add("b", {}, 5);   // [5,15)
  h.watermark(9);
  assert.deepEqual(h.take(), []);
  h.watermark(14);
  assert.deepEqual(h.take(), [["b", [5, 15], 1, 14]]);
  h.watermark(16);
  assert.deepEqual(h.take(), []);
  h.watermark(Infinity);
  assert.deepEqual(h.take(), [["a", [0, 18], 2, 17]]);
  h.assertEmpty();
});

test("a session that grows after its trigger fired is due again at its new end", () => {
  const h = harness({ ...session10, allowedLateness: 10 });
  h.add("a", {}, 0);
  h.watermark(9);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9]]);
  h.add("a", {}, 5);  // [0,15), due at 14
  assert.deepEqual(h.take(), []);
  h.watermark(13);
  assert.deepEqual(h.take(), []);
  h.watermark(14);
  assert.deepEqual(h.take(), [["a", [0, 15], 2, 14]]);
  h.add("a", {}, 3);  // inside, within the lateness: a late firing
  assert.deepEqual(h.take(), [["a", [0, 15], 3, 14]]);
  h.watermark(23);
  assert.equal(h.table.size, 1, "kept until its cleanup time 24");
  h.watermark(24);
  assert.deepEqual(h.take(), []);
  h.assertEmpty();
});

test("a count-triggered session that keeps growing is cleaned up at its last end", () => {
  const h = harness({ ...session10, trigger: { type: "count", count: 3 } });
  for (let t = 0; t < 50; t += 7) h.add("a", {}, t);  // 8 records: fires at 3 and 6
  assert.deepEqual(h.take(), [["a", [0, 24], 3, 23], ["a", [0, 45], 6, 44]]);
  h.watermark(50);
  assert.equal(h.table.size, 1, "[0,59) is open");
  h.watermark(58);
  assert.deepEqual(h.take(), [], "cleanup drops the two pending elements");
  h.assertEmpty();
});

test("processing-time sessions: a growing session fires once, at its end", () => {
  const h = harness({ ...session10, time: "processing" });
  for (let t = 0; t <= 40; t += 4) {
    h.setNow(t);
    h.add("a", {}, undefined);
    h.advance(t + 1);
  }
  assert.deepEqual(h.take(), []);
  h.advance(49);
  assert.deepEqual(h.take(), [["a", [0, 50], 11, 49]]);
  h.assertEmpty();
});

test("a restored operator moves the stale timer of a grown session", () => {
  const feed = (h, part) => {
    if (part === 0) {
      h.add("a", {}, 0);  // timer at 9
      h.add("a", {}, 8);  // [0,18)
      h.add("b", {}, 2);
      h.watermark(5);
    } else {
      h.add("a", {}, 15);  // [0,25)
      h.watermark(9);      // the stale timer moves to 24
      h.watermark(23);
      h.watermark(24);
    }
  };
  const whole = harness(session10);
  feed(whole, 0);
  feed(whole, 1);
  const expected = [["b", [2, 12], 1, 11], ["a", [0, 25], 3, 24]];
  assert.deepEqual(whole.take(), expected);
  whole.assertEmpty();

  const before = harness(session10);
  feed(before, 0);
  const timerEntries = before.snapshotTimers();
  const after = harness(session10, {}, { table: new Map(copy([...before.table])), timerEntries });
  after.setWatermark(5);
  feed(after, 1);
  assert.deepEqual(before.take().concat(after.take()), expected);
  after.assertEmpty();
});

test("timers of a checkpoint with \"start:end\" namespaces fire each session once", () => {
  // What the operator held before session timers had the namespace "": a trigger and a cleanup
  // timer per window. Key a's [0,10) is cleaned up at 29, when [20,30) fires.
  const config = { ...session10, allowedLateness: 20 };
  const at = (key) => [keys.keyGroupOf(key, MAX_PARALLELISM), keys.keyString(key)];
  const table = new Map();
  const timers = new TimerService();
  const [aGroup, aString] = at("a"), [bGroup, bString] = at("b");
  table.set(aGroup + "\u0000" + aString, [0, 10, 1, 0, 20, 30, 1, 0]);
  table.set(bGroup + "\u0000" + bString, [20, 30, 1, 0]);
  for (const [time, namespace] of [[9, "0:10"], [29, "0:10"], [29, "20:30"], [49, "20:30"]]) {
    timers.registerEventTimeTimer(time, aGroup, aString, "a", namespace);
  }
  timers.registerEventTimeTimer(29, bGroup, bString, "b", "20:30");
  timers.registerEventTimeTimer(49, bGroup, bString, "b", "20:30");
  const h = harness(config, {}, { table, timers });
  h.add("b", {}, 25);  // [20,35): its timers are stale
  h.watermark(29);
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9], ["a", [20, 30], 1, 29]]);
  h.watermark(34);
  assert.deepEqual(h.take(), [["b", [20, 35], 2, 34]]);
  h.watermark(49);
  assert.equal(h.table.size, 1, "b's session is kept until 54");
  h.watermark(54);
  assert.deepEqual(h.take(), []);
  h.assertEmpty();
});

test("between checkpoints the timers that fired are not kept; a checkpoint after still restores", () => {
  const feed = (h, from, to) => {
    for (let t = from; t < to; t++) {
      h.add("k" + (t % 7), {}, t * 3);
      if (t % 5 === 4) h.watermark(t * 3 - 20);
    }
  };
  const whole = harness(session10);
  whole.ctx.timers.trackChanges();
  feed(whole, 0, 6000);
  const timers = whole.op.sessionTimers;
  // ~7 keys' sessions live at a time; 6,000 records registered thousands of timers.
  assert.ok(timers.seq > 3000, "timers registered: " + timers.seq);
  assert.ok(timers.logged <= 1024 + 2 * timers.count,
            "timers kept for the next checkpoint: " + timers.logged);
  const timerEntries = whole.snapshotTimers();
  const restored = harness(session10, {}, { table: new Map(copy([...whole.table])), timerEntries });
  restored.setWatermark(5999 * 3 - 20);  // the last watermark of feed(whole, 0, 6000)
  feed(whole, 6000, 6100);
  feed(restored, 6000, 6100);
  whole.watermark(Infinity);
  restored.watermark(Infinity);
  const out = whole.take();
  assert.ok(out.length > 100, "sessions fired: " + out.length);
  const tail = restored.take();
  assert.deepEqual(tail, out.slice(out.length - tail.length));
  assert.ok(tail.length >= 7, "the restored operator fired the open sessions: " + tail.length);
  restored.assertEmpty();
});

test("a checkpoint deletes a session timers' entry once all its timers fired, also after the barrier",
     () => {
  const MARK = '["session"]';
  const live = (list) => list.filter(([, key]) => key !== MARK);
  const h = harness(session10);
  h.ctx.timers.trackChanges();
  h.add("a", {}, 0);  // timer at 9
  h.add("b", {}, 3);  // timer at 12
  h.beginTimers();    // the barrier holds both
  h.watermark(9);     // a's fires before the checkpoint writes it
  assert.deepEqual(h.take(), [["a", [0, 10], 1, 9]]);
  h.add("c", {}, 20);  // timer at 29: the next checkpoint's
  let table = h.finishTimers(1);  // one timer an entry
  assert.equal(live(table).length, 2, "a's timer is written (the barrier's view), and b's");
  assert.equal(table.length, 2, "no mark: nothing had fired at the barrier");
  h.watermark(12);
  assert.deepEqual(h.take(), [["b", [3, 13], 1, 12]]);
  table = h.snapshotTimers(1);
  const cGroup = keys.keyGroupOf("c", MAX_PARALLELISM);
  assert.deepEqual(live(table).map(([keyGroup]) => keyGroup), [cGroup],
                   "a's and b's entries are deleted, c's written");
  assert.deepEqual(table.filter(([, key]) => key === MARK), [[cGroup, MARK, "12"]],
                   "a mark for the one key group with live entries");
  // A restore fires c's session only; a's and b's do not come back.
  const restored = harness(session10, {}, { table: new Map(copy([...h.table])), timerEntries: table });
  restored.setWatermark(12);
  restored.watermark(Infinity);
  assert.deepEqual(restored.take(), [["c", [20, 30], 1, 29]]);
  restored.assertEmpty();
  h.watermark(29);
  assert.deepEqual(live(h.snapshotTimers()), [], "c's entry is deleted once its timer fired");
  h.assertEmpty();
});

test("session timers a given-up checkpoint did not write go into the next one", () => {
  const feed = (h, from, to) => {
    for (let t = from; t < to; t++) {
      h.add("k" + (t % 5), {}, t * 4);
      if (t % 3 === 2) h.watermark(t * 4 - 12);
    }
  };
  const whole = harness(session10);
  whole.ctx.timers.trackChanges();
  feed(whole, 0, 60);
  whole.add("far", {}, 1000);  // a timer at 1009, live until the end
  // A checkpoint given up after writing one entry (which reaches the backend all the same).
  const out = [];
  whole.ctx.timers.freezeChanges(out);
  while (out.length === 0) assert.equal(whole.ctx.timers.takeFrozen(1), false);  // (budget: timers)
  assert.equal(out.length, 3, "one entry written");
  whole.timerTable.set(out[0] + "\u0000" + out[1], [out[0], out[1], out[2]]);
  whole.ctx.timers.abortFrozen();
  feed(whole, 60, 80);
  const timerEntries = whole.snapshotTimers(2);
  const restored = harness(session10, {}, { table: new Map(copy([...whole.table])), timerEntries });
  restored.setWatermark(77 * 4 - 12);  // the last watermark of feed(whole, 60, 80)
  feed(whole, 80, 100);
  feed(restored, 80, 100);
  whole.watermark(Infinity);
  restored.watermark(Infinity);
  const all = whole.take();
  const tail = restored.take();
  assert.ok(tail.length >= 10, "sessions fired after the restore: " + tail.length);
  assert.deepEqual(tail, all.slice(all.length - tail.length));
  assert.deepEqual(tail.filter(([key]) => key === "far"), [["far", [1000, 1010], 1, 1009]]);
  restored.assertEmpty();
});

test("the session timer heap fires by (time, registration) with its slots reused, past its first size",
     () => {
  const { SessionTimers } = runtime.window_sessions;
  const timers = new SessionTimers();
  const rand = prng(42);
  const live = [];  // what a plain sorted list would hold
  let seq = 0;
  const fired = [], expected = [];
  let most = 0;
  for (let round = 0; round < 40; round++) {
    for (let n = 0; n < 100; n++) {
      const time = round * 10 + Math.floor(rand() * 60);  // many timers share a time
      const key = rand() < 0.5 ? "k" + seq : seq;  // strings and numbers
      timers.add(time, seq % 128, String(key), key);
      live.push({ time, seq: seq++, keyGroup: (seq - 1) % 128, keyString: String(key), key });
    }
    live.sort((a, b) => a.time - b.time || a.seq - b.seq);
    most = Math.max(most, timers.count);
    const upTo = round * 10 + 5;
    while (live.length > 0 && live[0].time <= upTo) {
      const t = live.shift();
      expected.push([t.time, t.keyGroup, t.keyString, t.key]);
    }
    while (timers.count > 0 && timers.next() <= upTo) {
      const t = timers.shift();
      fired.push([t.time, t.keyGroup, t.keyString, t.key]);
    }
    assert.equal(timers.count, live.length, "round " + round);
  }
  assert.ok(most > 256, "the heap grew past its first size (64) twice: " + most);
  assert.deepEqual(fired, expected);
  assert.deepEqual(timers.sorted().map((t) => [t.time, t.seq, t.keyGroup, t.keyString, t.key]),
                   live.map((t) => [t.time, t.seq, t.keyGroup, t.keyString, t.key]));
});
