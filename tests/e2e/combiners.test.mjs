// Combiners (worker/js/runtime/combiner.js) on a real cluster: two worker processes, the window
// operators at parallelism 2 behind a keyed exchange. The same job runs with combiners (the
// default) and with `combiners: false`; the window results and the late records (side output)
// must be the same, with records out of order, some far behind the watermark, allowed lateness
// (late firings) and functions whose value shows the order records came in. The plan names the
// combiner (`sluice status` and the HTTP API), and the window tasks take fewer records in with
// it (partial accumulators instead of records). The source runs at parallelism 1 so that what is
// late does not depend on how two sources' watermarks interleave.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, makeProject, sluice, waitForStatus } from "./harness.mjs";

let cluster;
let outDir;
before(async () => {
  outDir = mkdtempSync(join(tmpdir(), "sluice-comb-"));
  cluster = await startCluster({ workers: 2, slots: 4 });
});
after(async () => {
  await cluster?.stop();
  rmSync(outDir, { recursive: true, force: true });
});

// Events i = 0 .. n-1 of key i % 11, mostly 3 ms apart and up to 60 ms out of order; every 97th
// is 4 s behind (late, or a late firing within the allowed lateness). Without a rate the
// source's batches, after each of which its watermark goes out, do not depend on timing.
function job(name, { n, out, window, fn, combiners, rate }) {
  return `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job(${JSON.stringify(name)}, { parallelism: 2${combiners ? "" : ", combiners: false"} });
const results = job.source(sources.generator({ count: ${n},${rate ? ` rate: ${rate},` : ""} fn: (i: number) => ({
    k: i % 11, id: i, t: i * 3 - ((i * 7919) % 20) * 3 - (i % 97 === 0 ? 4000 : 0) }) }))
  .parallelism(1)
  .assignTimestamps((r: any) => r.t, { maxOutOfOrderness: 60 }).parallelism(1)
  .keyBy((r: any) => r.k)
  .window(${window}, { allowedLateness: 2500 })
  ${fn};
results.sink(sinks.file({ path: ${JSON.stringify(join(out, "results.jsonl"))} }));
results.lateRecords().sink(sinks.file({ path: ${JSON.stringify(join(out, "late.jsonl"))} }));
export default job;
`;
}

// Every line of the files under `dir` whose name starts with `prefix`, sorted (the two window
// tasks write files of their own).
function lines(dir, prefix) {
  const all = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith(prefix))) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (line !== "") all.push(line);
    }
  }
  return all.sort();
}

async function submitAndWait(name, files) {
  const project = makeProject(files);
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const status = await waitForStatus(id, cluster.address, undefined, 60000);
    assert.match(status, /state:\s+finished/, status);
    return { id, status };
  } finally {
    project.cleanup();
  }
}

async function plan(id) {
  const response = await fetch(`http://${cluster.http}/api/v1/jobs/${id}/plan`);
  assert.equal(response.status, 200);
  return response.json();
}

// The records the window tasks (group 1) took in, from `sluice status`.
function windowRecordsIn(status) {
  let sum = 0;
  for (const m of status.matchAll(/\/g1\.\d+\s+\S+\s+\S+\s+in (\d+)/g)) sum += Number(m[1]);
  return sum;
}

const AGGREGATE_IN_ORDER = `.aggregate({ create: () => [] as number[], add: (acc: number[], r: any) => { acc.push(r.id); return acc; },
      merge: (a: number[], b: number[]) => { for (const x of b) a.push(x); return a; },
      result: (acc: number[]) => acc.join(",") })`;

const CASES = [
  ["tumbling count", "windows.tumbling(500)", ".count()"],
  ["session count (runs of records folded)", "windows.session(40)", ".count()"],
  // Not commutative: one partial a record (each its accumulator), nothing folded.
  ["session aggregate with merge (one partial a record)", "windows.session(40)", AGGREGATE_IN_ORDER],
  ["sliding reduce (the first greatest id mod 13)", "windows.sliding(1000, 250)",
   ".reduce((a: any, b: any) => ((b.id % 13) > (a.id % 13) ? b : a))"],
  ["sliding aggregate with merge (ids in the order they came)", "windows.sliding(900, 300)",
   AGGREGATE_IN_ORDER],
];

for (const [what, window, fn] of CASES) {
  test(`${what}: with combiners the results and late records are those without`, async () => {
    const n = window.startsWith("windows.session") ? 10000 : 30000;
    const slug = what.split(" ").slice(0, 2).join("-");
    const on = join(outDir, slug + "-on"), off = join(outDir, slug + "-off");
    mkdirSync(on);
    mkdirSync(off);
    const withCombiners = await submitAndWait(slug, { "job.ts": job(slug + "-on", { n, out: on, window, fn, combiners: true }) });
    const without = await submitAndWait(slug, { "job.ts": job(slug + "-off", { n, out: off, window, fn, combiners: false }) });

    assert.match(withCombiners.status, /combine\(/, withCombiners.status);
    assert.doesNotMatch(without.status, /combine\(/, without.status);

    const results = lines(on, "results"), late = lines(on, "late");
    assert.ok(results.length > 50, "window results: " + results.length);
    assert.ok(late.length > 0, "some records were late");
    assert.deepEqual(results, lines(off, "results"), "window results");
    assert.deepEqual(late, lines(off, "late"), "late records");
    // Late firings happened (a window emitted more than once).
    const windowsSeen = new Set(results.map((l) => { const r = JSON.parse(l); return r.key + "@" + r.window.start; }));
    assert.ok(windowsSeen.size < results.length, "late firings");

    // The window tasks get far fewer records (session count: a key's records 33 ms apart, within
    // the 40 ms gap, fold into runs), except for a session aggregate (a partial a record).
    if (what.startsWith("session aggregate")) return;
    const inOn = windowRecordsIn(withCombiners.status), inOff = windowRecordsIn(without.status);
    assert.ok(inOff >= n, "records into the window tasks without combiners: " + inOff + "\n" + without.status);
    assert.ok(inOn < inOff / 2, `records into the window tasks: ${inOn} with combiners, ${inOff} without`);
  });
}

test("the plan names the combiner (HTTP API), and not with combiners: false", async () => {
  for (const combiners of [true, false]) {
    const out = join(outDir, "plan-" + combiners);
    mkdirSync(out);
    const project = makeProject({ "job.ts": job("plan", { n: 1000000, rate: 1000, out, combiners,
      window: "windows.tumbling(500)", fn: ".count()" }) });
    try {
      const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
      assert.equal(submitted.code, 0, submitted.stderr);
      const id = submitted.stdout.trim();
      // While the job runs: an ended job's spec keeps no configs to plan with.
      const planned = await plan(id);
      const combined = planned.exchanges.filter((e) => e.combiner !== undefined);
      assert.equal(combined.length, combiners ? 1 : 0, JSON.stringify(planned.exchanges));
      if (combiners) {
        assert.equal(planned.exchanges[0].combiner, planned.operators[2].id);
        assert.match(planned.groups[combined[0].from].name, /-> combine\(window\.count#3\)$/);
      }
      const cancelled = await sluice(["cancel", id, "-c", cluster.address]);
      assert.equal(cancelled.code, 0, cancelled.stderr);
      await waitForStatus(id, cluster.address);
    } finally {
      project.cleanup();
    }
  }
});

test("a window function that throws in a combiner names the window operator and its function", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("boom", { parallelism: 2 });
job.source(sources.generator({ count: 1000, fn: (i: number) => ({ k: i % 3, t: i }) }))
  .assignTimestamps((r: any) => r.t)
  .keyBy((r: any) => r.k)
  .window(windows.tumbling(100))
  .reduce((a: any, b: any) => {
    if (a.t === 500 || b.t === 500) throw new Error("bad record");
    return a;
  })
  .name("maxes")
  .sink(sinks.discard());
export default job;
`,
  });
  try {
    const run = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.notEqual(run.code, 0);
    // Record 500 opens its key's partial in the sending task, which reduces the next into it.
    assert.match(run.stderr, /combine\(maxes\)\) failed: operator 'maxes' \(op3\) \(pre-aggregating\): Error: bad record \(line 2 of the reduce function\)/);
  } finally {
    project.cleanup();
  }
});

test("a job refuses combiners that are not true or false", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("bad", { combiners: "no" as any });
job.source(sources.generator({ count: 1 })).sink(sinks.discard());
export default job;
`,
  });
  try {
    const run = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /combiners must be true or false/);
  } finally {
    project.cleanup();
  }
});
