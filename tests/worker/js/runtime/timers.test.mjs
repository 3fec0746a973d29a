// TimerService (worker/js/runtime/timers.js): snapshots and restores. Firing itself is covered
// by the operators' suites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { load } from "./helpers.mjs";

const { TimerService } = load("timers.js");
const copy = (v) => JSON.parse(JSON.stringify(v));

// Everything that fires up to the end of time, as "domain:keyString@time/namespace".
function drain(timers) {
  const fired = [];
  timers.advanceWatermark(Infinity, (t) => fired.push(`e:${t.keyString}@${t.time}/${t.namespace}`));
  timers.advanceProcessingTime(Infinity,
                               (t) => fired.push(`p:${t.keyString}@${t.time}/${t.namespace}`));
  return fired;
}

// A service whose timers share times across key groups, namespaces and domains, with some
// deleted (leaving empty places in their time's bucket) and infinite times.
function busy() {
  const timers = new TimerService();
  for (let i = 0; i < 40; i++) {
    const keyGroup = (i * 37) % 16;
    timers.registerEventTimeTimer(100 + (i % 3), keyGroup, "k" + i, { id: i }, "w" + (i % 4));
    timers.registerProcessingTimeTimer(i % 2 === 0 ? 7 : Infinity, keyGroup, "k" + i, i, "");
  }
  timers.deleteEventTimeTimer(100, "k0", "w0");
  timers.deleteEventTimeTimer(101, "k1", "w1");
  timers.registerEventTimeTimer(100, 5, "late", "late", "w0");  // into the emptied namespace
  timers.registerEventTimeTimer(-Infinity, 2, "first", "first", "");
  return timers;
}

test("a snapshot has a run per key group, domain, time and namespace, in firing order", () => {
  const timers = new TimerService();
  timers.registerEventTimeTimer(20, 3, "b", ["b"], "x");
  timers.registerEventTimeTimer(10, 9, "a", "a", "");
  timers.registerEventTimeTimer(20, 3, "c", "c", "x");
  timers.registerEventTimeTimer(20, 9, "d", "d", "x");
  timers.registerEventTimeTimer(20, 3, "e", "e", "x");
  timers.registerProcessingTimeTimer(Infinity, 3, "b", ["b"], "");
  const snapshot = timers.snapshot();
  // seqs: a 0, b 1, c 2, d 3, e 4, b 5; each run's first as is, then differences.
  assert.deepEqual(snapshot, [
    [9, [[0, 10, "", [0], ["a"], 0], [0, 20, "x", [3], ["d"], 0]]],
    [3, [[0, 20, "x", [1, 1, 2], ["b", "c", "e"], [["b"], "c", "e"]],
         [1, "Infinity", "", [5], ["b"], [["b"]]]]],
  ]);
  assert.deepEqual(copy(snapshot), snapshot);
  assert.deepEqual([...timers.snapshotByKeyGroup()], snapshot);
});

test("a restore fires exactly what and in the order the original would", () => {
  const original = busy();
  const restored = new TimerService();
  restored.restore(copy(original.snapshot()), () => true);
  assert.equal(restored.size, original.size);
  assert.deepEqual(drain(restored), drain(busy()));
});

test("key groups restore in their old order whatever order they come in", () => {
  const groups = [...busy().snapshotByKeyGroup()];
  assert.ok(groups.length > 10);
  const shuffled = groups.sort((a, b) => (a[0] * 7) % 16 - (b[0] * 7) % 16);
  const restored = new TimerService();
  restored.restore(copy(shuffled));
  assert.deepEqual(drain(restored), drain(busy()));
});

test("restore keeps the key groups a task owns; a restored timer can be deleted", () => {
  const restored = new TimerService();
  restored.restore(copy(busy().snapshot()), (keyGroup) => keyGroup < 8);
  const keyGroupOf = (key) =>
      key === "first" ? 2 : key === "late" ? 5 : (Number(key.slice(1)) * 37) % 16;
  const fired = drain(busy()).filter((line) => keyGroupOf(line.slice(2, line.indexOf("@"))) < 8);
  assert.ok(fired.length > 20 && fired.length < 80, String(fired.length));
  const again = new TimerService();
  again.restore(copy(busy().snapshot()), (keyGroup) => keyGroup < 8);
  assert.deepEqual(drain(again), fired);
  restored.deleteEventTimeTimer(-Infinity, "first", "");
  assert.deepEqual(drain(restored), fired.slice(1));
});

test("a bad snapshot is a clear error", () => {
  const cases = [
    [[[-1, []]], /^TypeError: the timer snapshot of key group -1 is not \[keyGroup, runs\]$/],
    [[[4, {}]], /^TypeError: the timer snapshot of key group 4 is not \[keyGroup, runs\]$/],
    [[[4, [[2, 1, "", [0], ["k"], 0]]]], /key group 4 has a bad run 0 \(not \[domain 0 or 1, /],
    [[[4, [[0, 1, "", [0, 1], ["k"], 0]]]], /key group 4 has a bad run 0/],
    [[[4, [[0, 1, "", [0], ["k"], ["k", "l"]]]]], /key group 4 has a bad run 0/],
    [[[4, [[0, "soon", "", [0], ["k"], 0]]]], /key group 4 has a bad time in run 0$/],
    [[[4, [[0, 1, "", [0], [7], 0]]]], /key group 4 has a bad timer in run 0$/],
  ];
  for (const [snapshot, error] of cases) {
    assert.throws(() => new TimerService().restore(snapshot), error, JSON.stringify(snapshot));
  }
});
