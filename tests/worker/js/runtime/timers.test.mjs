// TimerService (worker/js/runtime/timers.js): snapshots and restores, and incremental
// checkpoints (timer_changes.js) through state.js as a task takes them. Firing itself is
// covered by the operators' suites.
import { test } from "node:test";
import assert from "node:assert/strict";
import { load, TimerService } from "./helpers.mjs";
import { FakeNative } from "./state_fake.mjs";

const { StateTables } = load("state.js");
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

// Incremental checkpoints as a task takes them: state.js writes the timers' changes (table 1)
// into the checkpoint's layer of a backend frozen at the barrier.
function task() {
  const native = new FakeNative();
  const tables = new StateTables(native, { cacheEntries: 100 });
  const timers = new TimerService();
  tables.trackTimers(1, timers);
  return { native, tables, timers };
}
// A checkpoint written `budget` entries at a time, with between(part) before each part (part 0
// right after the barrier); given up after `abortAfter` parts if set. Returns its image, or
// undefined when given up.
function checkpoint({ native, tables },
                    { budget = Infinity, between = () => {}, abortAfter } = {}) {
  native.freeze();
  tables.beginSnapshot();
  for (let part = 0; ; part++) {
    between(part);
    if (part === abortAfter) {
      tables.abortSnapshot();
      native.thaw();
      return undefined;
    }
    if (tables.continueSnapshot(budget)) break;
  }
  const image = native.image();
  native.thaw();
  return image;
}
// A fresh service restored from a checkpoint's image, as a task restores one.
function restored(image) {
  const native = new FakeNative();
  native.store = new Map(image);
  const timers = new TimerService();
  new StateTables(native).restoreTimers(1, timers, 128);
  return timers;
}

// A timer of a (time, key, namespace) that fired or was deleted, registered again: its entry has
// the key of the older one's, whose deletion the checkpoint must write before it.
test("a timer registered again at the time that just fired is in the checkpoint and fires after a restore", () => {
  for (const domain of ["event", "processing"]) {
    const fireUpTo = (timers, time) => (domain === "event"
        ? timers.advanceWatermark(time, () => {}) : timers.advanceProcessingTime(time, () => {}));
    const register = (timers, time, key) => (domain === "event"
        ? timers.registerEventTimeTimer(time, 1, key, key, "")
        : timers.registerProcessingTimeTimer(time, 1, key, key, ""));
    const fires = (timers) => drain(timers).map((line) => line.slice(2));
    const t = task();
    register(t.timers, 10, "a");
    register(t.timers, 30, "b");
    checkpoint(t);
    // Within one generation: fired and registered again before the barrier.
    fireUpTo(t.timers, 10);
    register(t.timers, 10, "a");
    let image = checkpoint(t);
    assert.deepEqual(fires(restored(image)), ["a@10/", "b@30/"], domain);
    // The same, and the new timer fires again while the checkpoint is written (before the
    // older one's deletion was): the checkpoint still has it, live at the barrier.
    fireUpTo(t.timers, 10);
    register(t.timers, 10, "a");
    image = checkpoint(t, { between: (part) => { if (part === 0) fireUpTo(t.timers, 10); } });
    assert.deepEqual(fires(restored(image)), ["a@10/", "b@30/"], domain);
    image = checkpoint(t);
    assert.deepEqual(fires(restored(image)), ["b@30/"], domain + ": it fired after the barrier");
  }
});

test("a timer registered again while a checkpoint is being written is in the next one, also when that one is given up", () => {
  for (const abortAfter of [undefined, 2]) {
    const t = task();
    for (let i = 0; i < 8; i++) t.timers.registerEventTimeTimer(20 + i, 1, "p" + i, "p" + i, "");
    t.timers.registerEventTimeTimer(10, 1, "a", "a", "");
    checkpoint(t);
    // Deletions frozen at the barrier, a's last: a is registered again before it is written.
    for (let i = 0; i < 8; i++) t.timers.deleteEventTimeTimer(20 + i, "p" + i, "");
    t.timers.advanceWatermark(10, () => {});
    let image = checkpoint(t, {
      budget: 1,
      abortAfter,
      between: (part) => { if (part === 1) t.timers.registerEventTimeTimer(10, 1, "a", "a", ""); },
    });
    if (image !== undefined) {
      assert.deepEqual(drain(restored(image)), [], "a was not live at the barrier");
    }
    image = checkpoint(t, { budget: 1 });
    assert.deepEqual(drain(restored(image)), ["e:a@10/"], String(abortAfter));
  }
});

test("a timer deleted and registered again at the same time is in the checkpoint", () => {
  const t = task();
  t.timers.registerEventTimeTimer(10, 1, "a", "a", "w");
  t.timers.registerEventTimeTimer(10, 2, "b", "b", "w");
  checkpoint(t);
  t.timers.deleteEventTimeTimer(10, "a", "w");
  t.timers.registerEventTimeTimer(10, 1, "a", "a", "w");
  let image = checkpoint(t);
  // Restored in their new order: b, then a (registered after it).
  assert.deepEqual(drain(restored(image)), ["e:b@10/w", "e:a@10/w"]);
  // Deleted and registered again, then deleted once more while the checkpoint is written.
  t.timers.deleteEventTimeTimer(10, "b", "w");
  t.timers.registerEventTimeTimer(10, 2, "b", "b", "w");
  image = checkpoint(t, {
    budget: 1,
    between: (part) => { if (part === 0) t.timers.deleteEventTimeTimer(10, "b", "w"); },
  });
  assert.deepEqual(drain(restored(image)), ["e:a@10/w", "e:b@10/w"]);
  image = checkpoint(t);
  assert.deepEqual(drain(restored(image)), ["e:a@10/w"]);
});
