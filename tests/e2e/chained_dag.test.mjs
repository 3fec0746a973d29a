// A DAG of operators in one task (issue 17, "no exchange where none is needed"), on a real
// cluster: at parallelism 1 a fan-out of one source into two branches that meet again in a union
// feeding a keyed process function (as Nexmark q3), or in a window join (as q8), runs as one task;
// at parallelism 2 the same jobs run as several tasks behind exchanges. Both plans give the
// records they must, and savepoints move between the plans (p = 2 -> 1 -> 2) with exact results.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, makeProject, sluice, waitForStatus, submitJob, checkpointsCompleted, sinkRecords } from "./harness.mjs";

let cluster;
let checkpointDir;
let outDir;
before(async () => {
  checkpointDir = mkdtempSync(join(tmpdir(), "sluice-dag-chk-"));
  outDir = mkdtempSync(join(tmpdir(), "sluice-dag-out-"));
  cluster = await startCluster({
    workers: 2,
    slots: 6,
    coordinatorArgs: ["--checkpoint-dir", checkpointDir],
  });
});
after(async () => {
  await cluster?.stop();
  rmSync(checkpointDir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

const submit = (files, extra = []) => submitJob(cluster.address, files, extra);
const WINDOW = 400;  // the join's tumbling window, in ms of event time

// Events i = 0 .. n-1, event time i ms: a person (id i / 4) when i % 4 == 0, else an auction
// (id i). A q3 auction's seller is spread over all persons (some arrive before their seller,
// and wait in map state); a q8 auction's seller is one of the last few persons.
const sellerOf = {
  q3: (i, n) => (i * 7) % Math.floor(n / 4),
  q8: (i) => Math.floor(i / 4) - (i % 4),
};
const personPasses = (id) => id % 3 !== 0;
const auctionPasses = (id) => id % 5 !== 0;

function job(name, { kind, n, rate, parallelism, out }) {
  const seller = kind === "q3" ? `(i * 7) % ${Math.floor(n / 4)}` : "Math.floor(i / 4) - (i % 4)";
  const head = `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job(${JSON.stringify(name)}, { parallelism: ${parallelism}, checkpointInterval: 300 });
const events = job.source(sources.generator({ count: ${n},${rate ? ` rate: ${rate},` : ""}
    fn: (i: number) => (i % 4 === 0 ? { type: "p", id: i / 4, t: i } : { type: "a", id: i, seller: ${seller}, t: i }) }))
  .filter((e: any) => e.t >= 0)
  .name("events")`;
  const tail = `
  .sink(sinks.file({ path: ${JSON.stringify(out)} }));
export default job;
`;
  if (kind === "q3") {
    return head + `;
const persons = events.filter((e: any) => e.type === "p" && e.id % 3 !== 0).name("persons")
  .map((p: any) => ({ kind: "p", id: p.id, name: "n" + p.id }));
const auctions = events.filter((e: any) => e.type === "a" && e.id % 5 !== 0).name("auctions")
  .map((a: any) => ({ kind: "a", id: a.id, seller: a.seller }));
persons.union(auctions)
  .keyBy((r: any) => (r.kind === "p" ? r.id : r.seller))
  .process({
    processElement(r: any, ctx: any) {
      const person = ctx.value("person");
      if (r.kind === "p") {
        person.update(r);
        const waiting = ctx.map("waiting");
        for (const id of waiting.values()) ctx.emit({ name: r.name, id });
        waiting.clear();
        return;
      }
      const p = person.value();
      if (p !== undefined) ctx.emit({ name: p.name, id: r.id });
      else ctx.map("waiting").put(String(r.id), r.id);
    },
  })
  .name("q3-join")` + tail;
  }
  return head + `
  .assignTimestamps((e: any) => e.t);
const persons = events.filter((e: any) => e.type === "p" && e.id % 3 !== 0).name("persons")
  .map((p: any) => ({ id: p.id, name: "n" + p.id }));
const auctions = events.filter((e: any) => e.type === "a" && e.id % 5 !== 0).name("auctions")
  .map((a: any) => ({ id: a.id, seller: a.seller }));
persons.keyBy((p: any) => p.id)
  .join(auctions.keyBy((a: any) => a.seller))
  .window(windows.tumbling(${WINDOW}))
  .apply((p: any, a: any, w: any) => ({ name: p.name, id: a.id, start: w.start }))
  .name("q8-join")` + tail;
}

// The records each job must give, by auction id.
function expected(kind, n) {
  const out = new Map();
  for (let i = 0; i < n; i++) {
    if (i % 4 === 0 || !auctionPasses(i)) continue;
    const seller = sellerOf[kind](i, n);
    if (seller < 0 || !personPasses(seller)) continue;
    if (kind === "q3") {
      out.set(String(i), { name: "n" + seller, id: i });
    } else if (Math.floor((4 * seller) / WINDOW) === Math.floor(i / WINDOW)) {
      out.set(String(i), { name: "n" + seller, id: i, start: Math.floor(i / WINDOW) * WINDOW });
    }
  }
  return out;
}

// Every file starting with `prefix` in outDir holds exactly the records the job must give (a
// record that a run after a savepoint repeats, written after the savepoint and before the cancel,
// must be the same).
function check(kind, prefix, n) {
  const seen = new Map();
  for (const r of sinkRecords(outDir, prefix)) {
    if (seen.has(String(r.id))) assert.deepEqual(r, seen.get(String(r.id)), `auction ${r.id} came out twice, differently`);
    seen.set(String(r.id), r);
  }
  const want = expected(kind, n);
  assert.ok(want.size > 100, `the ${kind} job must give records (${want.size})`);
  for (const [id, value] of want) assert.deepEqual(seen.get(id), value, `auction ${id}`);
  assert.equal(seen.size, want.size);
}

// At p = 1 the whole job is one task (g0.0, its display listing both branches); at p = 2 the
// keyed operator runs behind an exchange, in a task of its own.
function assertPlan(status, parallelism, join) {
  assert.equal(/g1\.0/.test(status), parallelism !== 1, status);
  if (parallelism === 1) {
    assert.match(status, new RegExp(`persons -> [^\\n]*\\| auctions -> [^\\n]*${join}`), status);
  }
}

for (const kind of ["q3", "q8"]) {
  test(`${kind}-like: a fan-out that meets again runs as one task at p = 1 and gives the records it does at p = 2`, async () => {
    const n = 20000;
    for (const parallelism of [1, 2]) {
      const prefix = `${kind}-${parallelism}-`;
      const id = await submit({ "job.ts": job(prefix, { kind, n, parallelism, out: join(outDir, prefix + "a") }) });
      const done = await waitForStatus(id, cluster.address, undefined, 60000);
      assert.match(done, /state:\s+finished/);
      assertPlan(done, parallelism, `${kind}-join`);
      check(kind, prefix, n);
    }
  });
}

for (const kind of ["q3", "q8"]) {
  test(`${kind}-like: a savepoint moves p = 2 (tasks) -> p = 1 (one task) -> p = 2 with exact results`, async () => {
    const n = 240000;
    const prefix = `moves-${kind}-`;
    const files = (out, parallelism) => ({ "job.ts": job(prefix, { kind, n, rate: 20000, parallelism, out }) });
    let id = await submit(files(join(outDir, prefix + "a"), 2));
    const phases = [1, 2];
    for (let i = 0; i <= phases.length; i++) {
      const running = await waitForStatus(id, cluster.address, (text) => checkpointsCompleted(text) >= 2 || /state:\s+(finished|failed)/.test(text), 30000);
      assert.match(running, /state:\s+running/, `phase ${i} ended before its savepoint: ${running}`);
      assertPlan(running, i === 0 ? 2 : phases[i - 1], `${kind}-join`);
      if (i === phases.length) break;
      const savepoint = await sluice(["savepoint", id, "-c", cluster.address]);
      assert.equal(savepoint.code, 0, savepoint.stderr);
      const path = savepoint.stdout.trim();
      const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await waitForStatus(id, cluster.address);
      const p = phases[i];
      id = await submit(files(join(outDir, prefix + "bc"[i]), p), ["-p", String(p), "--from-savepoint", path]);
    }
    const done = await waitForStatus(id, cluster.address, undefined, 60000);
    assert.match(done, /state:\s+finished/);
    check(kind, prefix, n);
  });
}

// A window with allowed lateness and a late side output, fed by a union of two branches of one
// source, at p = 1: the window runs in the source's task (its driver's stages link into it), its
// records and its late records leave that task, and they are exactly those of the linear job
// (tests/e2e/windows.test.mjs, "tumbling windows with allowed lateness").
test("a window fed by a union inside one task keeps its lateness and its late side output", async () => {
  const clicks = [
    { user: "a", ts: 1000 }, { user: "b", ts: 2000 }, { user: "a", ts: 11000 },
    { user: "a", ts: 4000 }, { user: "b", ts: 13000 }, { user: "a", ts: 7000 },
    { user: "a", ts: 21000 }, { user: "b", ts: 3000 },
  ];
  const project = makeProject({
    "clicks.jsonl": clicks.map((r) => JSON.stringify(r)).join("\n") + "\n",
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("clicks-dag", { parallelism: 1 });
const clicks = job.source(sources.file({ path: "clicks.jsonl", format: "json", batchSize: 1 }))
  .assignTimestamps((r: any) => r.ts, { maxOutOfOrderness: "2s" });
const a = clicks.filter((r: any) => r.user === "a").name("only a").map((r: any) => r);
const b = clicks.filter((r: any) => r.user === "b").name("only b").map((r: any) => r);
const counts = a.union(b)
  .keyBy((r: any) => r.user)
  .window(windows.tumbling("10s"), { allowedLateness: "5s" })
  .count()
  .name("counts");
counts.sink(sinks.file({ path: "counts.jsonl" }));
counts.lateRecords().sink(sinks.file({ path: "late.jsonl" }));
export default job;
`,
  });
  try {
    const run = await sluice(["run", "job.ts", "--driver-dir", "drivers"], { cwd: project.dir });
    assert.equal(run.code, 0, run.stderr);
    const drivers = readdirSync(join(project.dir, "drivers")).map((f) => readFileSync(join(project.dir, "drivers", f), "utf8"));
    assert.ok(drivers.some((d) => /stage \d+: window 'counts'/.test(d) && /'only b' .* -> stage \d+/.test(d)),
      "the window runs in the task of the branches feeding it");
    const read = (prefix) => readdirSync(project.dir).filter((f) => f === prefix || f.startsWith(prefix + "."))
      .flatMap((f) => readFileSync(join(project.dir, f), "utf8").split("\n").filter((l) => l !== ""))
      .map((l) => JSON.stringify(JSON.parse(l))).sort();
    const same = (records) => records.map((r) => JSON.stringify(r)).sort();
    assert.deepEqual(read("counts.jsonl"), same([
      { key: "a", window: { start: 0, end: 10000 }, value: 2 },
      { key: "b", window: { start: 0, end: 10000 }, value: 1 },
      { key: "a", window: { start: 0, end: 10000 }, value: 3 },
      { key: "a", window: { start: 10000, end: 20000 }, value: 1 },
      { key: "b", window: { start: 10000, end: 20000 }, value: 1 },
      { key: "a", window: { start: 20000, end: 30000 }, value: 1 },
    ]));
    assert.deepEqual(read("late.jsonl"), same([{ user: "b", ts: 3000 }]));
  } finally {
    project.cleanup();
  }
});

// At p = 2 the branches and their union are one task (FORWARD edges), whose output is the keyBy
// exchange into a window that merges partial counts: both branches feed the combiner.
test("a union of two branches pre-aggregates for the window behind its exchange at p = 2", async () => {
  const n = 20000;
  const prefix = "combined-";
  const out = join(outDir, prefix + "a");
  const id = await submit({ "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("combined", { parallelism: 2 });
const events = job.source(sources.generator({ count: ${n}, fn: (i: number) => ({ k: i % 13, t: i }) }))
  .assignTimestamps((r: any) => r.t);
const odd = events.filter((r: any) => r.t % 2 === 1).name("odd");
const even = events.filter((r: any) => r.t % 2 === 0).name("even").map((r: any) => ({ k: r.k + 100, t: r.t }));
odd.union(even).keyBy((r: any) => r.k).window(windows.tumbling(1000)).count().name("counts")
  .sink(sinks.file({ path: ${JSON.stringify(out)} }));
export default job;
` });
  const done = await waitForStatus(id, cluster.address, undefined, 60000);
  assert.match(done, /state:\s+finished/);
  assert.match(done, /odd \| even -> [^\n]*-> combine\(counts\)/, done);
  const want = new Map();
  for (let i = 0; i < n; i++) {
    const key = `${i % 2 === 1 ? i % 13 : (i % 13) + 100}@${Math.floor(i / 1000) * 1000}`;
    want.set(key, (want.get(key) ?? 0) + 1);
  }
  const seen = new Map();
  for (const r of sinkRecords(outDir, prefix)) {
    seen.set(`${r.key}@${r.window.start}`, r.value);
  }
  assert.deepEqual(seen, want);
});
