// Event time end to end with `sluice run`: watermarks through the exchange, windows (tumbling
// with allowed lateness and late records, sliding, session merging, processing time), joins,
// a keyed process function and idle inputs, at parallelism 1 and 3, checked exactly.
//
// The file sources read one line per batch (batchSize: 1) and run at parallelism 1, so every
// record is followed by its watermark and what is late is decided by the file's order alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeProject, sluice, SLUICE } from "./harness.mjs";

const lines = (records) => records.map((r) => JSON.stringify(r)).join("\n") + "\n";
const sorted = (text) =>
  text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l))
    .map((r) => JSON.stringify(r))
    .sort();
const expectSame = (text, expected) => assert.deepEqual(sorted(text), expected.map((r) => JSON.stringify(r)).sort());

function readAll(dir, prefix) {
  return readdirSync(dir)
    .filter((f) => f === prefix || f.startsWith(prefix + "."))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("");
}

// (user, ts) in file order; watermark after each = greatest ts - 2000 - 1.
const CLICKS = [
  { user: "a", ts: 1000 },
  { user: "b", ts: 2000 },
  { user: "a", ts: 11000 },
  { user: "a", ts: 4000 },
  { user: "b", ts: 13000 },  // watermark 10999: [0, 10000) fires (a: 2, b: 1)
  { user: "a", ts: 7000 },   // late but within allowedLateness 5 s: a [0, 10000) fires again (3)
  { user: "a", ts: 21000 },  // watermark 18999: [10000, 20000) fires; [0, 10000) is cleaned up
  { user: "b", ts: 3000 },   // too late: side output
];

for (const parallelism of [1, 3]) {
  test(`tumbling windows with allowed lateness and late records at parallelism ${parallelism}`, async () => {
    const project = makeProject({
      "clicks.jsonl": lines(CLICKS),
      "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("clicks", { parallelism: ${parallelism} });
const counts = job.source(sources.file({ path: "clicks.jsonl", format: "json", batchSize: 1 })).parallelism(1)
  .assignTimestamps((r: any) => r.ts, { maxOutOfOrderness: "2s" }).parallelism(1)
  .keyBy((r: any) => r.user)
  .window(windows.tumbling("10s"), { allowedLateness: "5s" })
  .count();
counts.sink(sinks.file({ path: "counts.jsonl" }));
counts.lateRecords().sink(sinks.file({ path: "late.jsonl" }));
export default job;
`,
    });
    try {
      const run = await sluice(["run", "job.ts"], { cwd: project.dir });
      assert.equal(run.code, 0, run.stderr);
      expectSame(readAll(project.dir, "counts.jsonl"), [
        { key: "a", window: { start: 0, end: 10000 }, value: 2 },
        { key: "b", window: { start: 0, end: 10000 }, value: 1 },
        { key: "a", window: { start: 0, end: 10000 }, value: 3 },
        { key: "a", window: { start: 10000, end: 20000 }, value: 1 },
        { key: "b", window: { start: 10000, end: 20000 }, value: 1 },
        { key: "a", window: { start: 20000, end: 30000 }, value: 1 },
      ]);
      expectSame(readAll(project.dir, "late.jsonl"), [{ user: "b", ts: 3000 }]);
    } finally {
      project.cleanup();
    }
  });

  test(`session windows merge at parallelism ${parallelism}`, async () => {
    const project = makeProject({
      "events.jsonl": lines([
        { user: "a", ts: 1000, n: 1 },
        { user: "a", ts: 4000, n: 2 },   // merges with [1000, 6000)
        { user: "b", ts: 1000, n: 10 },
        { user: "a", ts: 20000, n: 3 },
        { user: "a", ts: 10000, n: 4 },  // a session of its own, between the two
        { user: "a", ts: 7000, n: 5 },   // bridges [1000, 9000) and [10000, 15000)
      ]),
      "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("sessions", { parallelism: ${parallelism} });
job.source(sources.file({ path: "events.jsonl", format: "json", batchSize: 1 })).parallelism(1)
  .assignTimestamps((r: any) => r.ts, { maxOutOfOrderness: "1m" }).parallelism(1)
  .keyBy((r: any) => r.user)
  .window(windows.session("5s"))
  .aggregate({ create: () => 0, add: (sum: number, r: any) => sum + r.n, merge: (x: number, y: number) => x + y })
  .sink(sinks.stdout());
export default job;
`,
    });
    try {
      const run = await sluice(["run", "job.ts"], { cwd: project.dir });
      assert.equal(run.code, 0, run.stderr);
      expectSame(run.stdout, [
        { key: "a", window: { start: 1000, end: 15000 }, value: 12 },
        { key: "a", window: { start: 20000, end: 25000 }, value: 3 },
        { key: "b", window: { start: 1000, end: 6000 }, value: 10 },
      ]);
    } finally {
      project.cleanup();
    }
  });

  test(`window join, interval join and sliding windows at parallelism ${parallelism}`, async () => {
    const project = makeProject({
      "persons.jsonl": lines([
        { id: 1, name: "ann", ts: 1000 },
        { id: 2, name: "bob", ts: 2000 },
        { id: 1, name: "ann2", ts: 12000 },
      ]),
      "auctions.jsonl": lines([
        { seller: 1, item: "x", ts: 3000 },
        { seller: 1, item: "y", ts: 5000 },
        { seller: 2, item: "z", ts: 15000 },
        { seller: 1, item: "w", ts: 14000 },
      ]),
      "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("joins", { parallelism: ${parallelism} });
const read = (path: string) => job.source(sources.file({ path, format: "json", batchSize: 1 })).parallelism(1)
  .assignTimestamps((r: any) => r.ts, { maxOutOfOrderness: "1m" }).parallelism(1);
const persons = read("persons.jsonl");
const auctions = read("auctions.jsonl");
persons.keyBy((p: any) => p.id)
  .join(auctions.keyBy((a: any) => a.seller))
  .window(windows.tumbling("10s"))
  .apply((p: any, a: any, w) => ({ name: p.name, item: a.item, start: w.start }))
  .sink(sinks.file({ path: "window-join.jsonl" }));
persons.keyBy((p: any) => p.id)
  .intervalJoin(auctions.keyBy((a: any) => a.seller), { lower: 0, upper: "3s" })
  .apply((p: any, a: any) => ({ name: p.name, item: a.item }))
  .sink(sinks.file({ path: "interval-join.jsonl" }));
auctions.keyBy((a: any) => a.seller)
  .window(windows.sliding("10s", "5s"))
  .count()
  .sink(sinks.file({ path: "sliding.jsonl" }));
export default job;
`,
    });
    try {
      const run = await sluice(["run", "job.ts"], { cwd: project.dir });
      assert.equal(run.code, 0, run.stderr);
      expectSame(readAll(project.dir, "window-join.jsonl"), [
        { name: "ann", item: "x", start: 0 },
        { name: "ann", item: "y", start: 0 },
        { name: "ann2", item: "w", start: 10000 },
      ]);
      // ann (1000) meets x (3000) only; ann2 (12000) meets w (14000); bob (2000) nobody.
      expectSame(readAll(project.dir, "interval-join.jsonl"), [
        { name: "ann", item: "x" },
        { name: "ann2", item: "w" },
      ]);
      expectSame(readAll(project.dir, "sliding.jsonl"), [
        { key: 1, window: { start: -5000, end: 5000 }, value: 1 },
        { key: 1, window: { start: 0, end: 10000 }, value: 2 },
        { key: 1, window: { start: 5000, end: 15000 }, value: 2 },
        { key: 1, window: { start: 10000, end: 20000 }, value: 1 },
        { key: 2, window: { start: 10000, end: 20000 }, value: 1 },
        { key: 2, window: { start: 15000, end: 25000 }, value: 1 },
      ]);
    } finally {
      project.cleanup();
    }
  });
}

test("a keyed process function counts per key and emits on event-time timers", async () => {
  const project = makeProject({
    "in.jsonl": lines([
      { k: "a", ts: 1000 },
      { k: "a", ts: 2000 },
      { k: "b", ts: 3000 },
      { k: "c", ts: 12000 },  // then watermark 11999: the timers at 10000 fire
      { k: "a", ts: 15000 },
    ]),
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("process", { parallelism: 2 });
job.source(sources.file({ path: "in.jsonl", format: "json", batchSize: 1 })).parallelism(1)
  .assignTimestamps((r: any) => r.ts).parallelism(1)
  .keyBy((r: any) => r.k)
  .process({
    processElement(r: any, ctx) {
      const count = ctx.value<number>("count");
      count.update((count.value() ?? 0) + 1);
      ctx.timerService.registerEventTimeTimer(Math.floor(r.ts / 10000) * 10000 + 10000);
    },
    onTimer(ts: number, ctx) {
      const count = ctx.value<number>("count");
      ctx.emit({ key: ctx.key, at: ts, count: count.value() });
      count.clear();
    },
  })
  .sink(sinks.stdout());
export default job;
`,
  });
  try {
    const run = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(run.code, 0, run.stderr);
    expectSame(run.stdout, [
      { key: "a", at: 10000, count: 2 },
      { key: "b", at: 10000, count: 1 },
      { key: "c", at: 20000, count: 1 },
      { key: "a", at: 20000, count: 1 },
    ]);
  } finally {
    project.cleanup();
  }
});

test("processing-time windows count every record once", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("ptime", { parallelism: 3 });
job.source(sources.generator({ count: 3000, rate: 6000, fn: (i: number) => ({ k: i % 7 }) }))
  .keyBy((r: any) => r.k)
  .window(windows.tumbling("100ms"), { time: "processing" })
  .count()
  .sink(sinks.stdout());
export default job;
`,
  });
  try {
    const run = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(run.code, 0, run.stderr);
    const results = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.ok(results.length > 7, `expected several windows per key, got ${results.length}`);
    for (const r of results) assert.equal(r.window.end - r.window.start, 100);
    const total = new Map();
    for (const r of results) total.set(r.key, (total.get(r.key) ?? 0) + r.value);
    for (let k = 0; k < 7; k++) assert.equal(total.get(k), Math.floor(3000 / 7) + (k < 3000 % 7 ? 1 : 0));
  } finally {
    project.cleanup();
  }
});

// One input of a union never sends data: without an idle timeout it holds the watermark back
// and no window fires; with one, the other input's watermark moves the windows.
async function runUnbounded(project, waitMs, until) {
  const child = spawn(SLUICE, ["run", "job.ts"], { cwd: project.dir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline && !until(out)) await new Promise((r) => setTimeout(r, 50));
  child.kill("SIGKILL");
  await new Promise((r) => child.on("exit", r));
  return { out, err };
}

const idleJob = (idle) => `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("idle", { parallelism: 2 });
const events = job.source(sources.generator({ count: 100000, rate: 2000, fn: (i: number) => ({ k: i % 2, ts: i * 10 }) }))
  .parallelism(1)
  .assignTimestamps((r: any) => r.ts).parallelism(1);
// One record at the start, then nothing for hours.
const quiet = job.source(sources.generator({ rate: 0.0001, fn: (i: number) => ({ k: 0, ts: 0 }) }))
  .parallelism(1)
  .assignTimestamps((r: any) => r.ts${idle ? ', { idleTimeout: "300ms" }' : ""}).parallelism(1);
events.union(quiet)
  .keyBy((r: any) => r.k)
  .window(windows.tumbling("1s"))
  .count()
  .sink(sinks.stdout());
export default job;
`;

test("an idle input stops holding the watermark back after its idle timeout", async () => {
  const idle = makeProject({ "job.ts": idleJob(true) });
  const stuck = makeProject({ "job.ts": idleJob(false) });
  try {
    // Each key's subtask fires on its own; wait for both first windows (one subtask may be
    // well ahead of the other on a loaded machine).
    const fired = await runUnbounded(idle, 30000, (out) => (out.match(/"start":0,/g) ?? []).length >= 2);
    const first = fired.out.split("\n").filter((l) => l.includes('"start":0,'));
    // Key 0 has the quiet input's record too.
    assert.deepEqual(first.map((l) => JSON.parse(l)).sort((x, y) => x.key - y.key), [
      { key: 0, window: { start: 0, end: 1000 }, value: 51 },
      { key: 1, window: { start: 0, end: 1000 }, value: 50 },
    ], fired.out + fired.err);
    const held = await runUnbounded(stuck, 3000, () => false);
    assert.equal(held.out, "", "no window may fire while an input without idle timeout is silent");
  } finally {
    idle.cleanup();
    stuck.cleanup();
  }
});

test("keyed state much larger than the cache: 30,000 keys through 500 cached entries", async () => {
  // Every key is counted in a window and by a running reduce; with stateCacheEntries 500 most
  // of the state lives in each task's RocksDB and comes back on every access.
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("big-state", { parallelism: 3, stateCacheEntries: 500 });
const events = job.source(sources.generator({ count: 90000, fn: (i: number) => ({ k: "key-" + (i % 30000), ts: i }) }))
  .assignTimestamps((r: any) => r.ts);
events.keyBy((r: any) => r.k)
  .window(windows.tumbling("1h"))
  .count()
  .sink(sinks.file({ path: "windows.jsonl" }));
events.keyBy((r: any) => r.k)
  .reduce((a: any, b: any) => ({ k: a.k, ts: b.ts, n: (a.n ?? 1) + 1 }))
  .filter((r: any) => r.n === 3)
  .sink(sinks.file({ path: "reduced.jsonl" }));
export default job;
`,
  });
  try {
    const run = await sluice(["run", "job.ts"], { cwd: project.dir, timeoutMs: 120000 });
    assert.equal(run.code, 0, run.stderr);
    const counts = readAll(project.dir, "windows.jsonl").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(counts.length, 30000);
    assert.ok(counts.every((r) => r.value === 3 && r.window.start === 0), "every key counted 3 times");
    const reduced = readAll(project.dir, "reduced.jsonl").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(new Set(reduced.map((r) => r.k)).size, 30000, "every key reached 3 in the reduce");
  } finally {
    project.cleanup();
  }
});
