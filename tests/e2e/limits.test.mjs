// Trust boundaries and hard limits through the real binary (issue 13): the heap a task can
// start with and the most a job may ask for, ArrayBuffers inside the limit, lines longer than
// the limit, cancels that stop whatever a task does, the folders jobs may use, existing and
// shared output files, and values JSON cannot hold. On a cluster, a bystander job keeps running
// on the same worker through each of them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeProject, sluice, startCluster, waitForStatus } from "./harness.mjs";

const SDK = `import { Job, sources, sinks } from "@sluice/sdk";`;

/** `sluice run job.ts [args]` in a fresh project holding `files`; resolves to the result. */
async function runJob(job, files = {}, args = []) {
  const project = makeProject({ "job.ts": `${SDK}\n${job}\nexport default job;\n`, ...files });
  try {
    const result = await sluice(["run", "job.ts", ...args], { cwd: project.dir });
    return { ...result, dir: project.dir, files: Object.fromEntries(
      ["out.jsonl", "out.jsonl.0"].filter((f) => existsSync(join(project.dir, f)))
        .map((f) => [f, readFileSync(join(project.dir, f), "utf8")])) };
  } finally {
    project.cleanup();
  }
}

test("heapLimitMb below what an isolate needs is refused at submit, not a SIGSEGV", async () => {
  for (const mb of [1, 2]) {
    const result = await runJob(
      `const job = new Job("tiny", { heapLimitMb: ${mb} });
job.source(sources.generator({ count: 10 })).map((n: number) => n + 1).sink(sinks.stdout());`);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`job 'tiny': heapLimitMb ${mb} is below the 16 MB a task's JS isolate needs`));
  }
});

test("heapLimitMb and callTimeout above the cluster's maxima are refused, naming the flag", async () => {
  const huge = await runJob(
    `const job = new Job("greedy", { heapLimitMb: 1000000 });
job.source(sources.generator({ count: 10 })).sink(sinks.stdout());`);
  assert.equal(huge.code, 2, huge.stderr);
  assert.match(huge.stderr, /heapLimitMb 1000000 is above the cluster's maximum of 4096 MB \(--max-heap-mb\)/);
  const lowered = await runJob(
    `const job = new Job("greedy", { heapLimitMb: 128, callTimeout: "20s" });
job.source(sources.generator({ count: 10 })).sink(sinks.stdout());`,
    {}, ["--max-heap-mb", "64", "--max-call-timeout-ms", "5000"]);
  assert.equal(lowered.code, 2, lowered.stderr);
  assert.match(lowered.stderr, /heapLimitMb 128 is above the cluster's maximum of 64 MB/);
  assert.match(lowered.stderr, /callTimeout 20000 ms is above the cluster's maximum of 5000 ms/);
});

const TYPED_BODY = `job.source(sources.generator({ count: 4 }))
  .map((n: number) => { const g = globalThis as any; (g.kept ||= []).push(new Uint8Array(16 * 1024 * 1024)); return g.kept.length; })
  .name("hog")
  .sink(sinks.stdout());`;
const TYPED_ARRAY_HOG = `const job = new Job("typed", { heapLimitMb: 32 });\n${TYPED_BODY}`;

test("typed arrays count against the task's limit: the job fails naming the operator", async () => {
  const result = await runJob(TYPED_ARRAY_HOG);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /operator 'hog' \(op2\): RangeError: Array buffer allocation failed/);
  assert.match(result.stderr, /ArrayBuffers and typed arrays may hold at most the heap limit, 32 MB/);
});

test("a line longer than the limit fails the source, naming the file and the offset", async () => {
  const long = await runJob(
    `const job = new Job("long");
job.source(sources.file({ path: "in.txt", maxLineBytes: 1000 })).name("in").sink(sinks.stdout());`,
    { "in.txt": `ok\n${"x".repeat(5000)}\n` });
  assert.equal(long.code, 1, long.stderr);
  assert.match(long.stderr, /operator 'in' \(op1\): line 2 of '\/.*\/in.txt' \(at byte offset 3\) is longer than the limit of 1000 bytes/);
  const zero = await runJob(
    `const job = new Job("zeros");
job.source(sources.file({ path: "/dev/zero" })).name("zeros").sink(sinks.stdout());`,
    {}, ["--allow-path", "/dev", "--max-line-bytes", "1048576"]);
  assert.equal(zero.code, 1, zero.stderr);
  assert.match(zero.stderr, /line 1 of '\/dev\/zero' \(at byte offset 0\) is longer than the limit of 1048576 bytes/);
  const over = await runJob(
    `const job = new Job("asks");
job.source(sources.file({ path: "in.txt", maxLineBytes: 1e9 })).name("in").sink(sinks.stdout());`,
    { "in.txt": "a\n" });
  assert.equal(over.code, 2, over.stderr);
  assert.match(over.stderr, /operator 'in' \(op1\): config field "maxLineBytes" 1000000000 is above the cluster's maximum line length of 16777216 bytes/);
});

test("a record longer than --max-record-bytes fails naming the operator", async () => {
  const result = await runJob(
    `const job = new Job("wide");
job.source(sources.generator({ count: 3 })).map((n: number) => ({ pad: "x".repeat(200) })).name("pad").sink(sinks.stdout());`,
    {}, ["--max-record-bytes", "100"]);
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /operator 'pad' \(op2\): RangeError: an output record's JSON is 210 characters long, over the cluster's limit of 100 bytes/);
});

test("the record limit holds for records sent to another task, exactly at its boundary", async () => {
  // keyBy at parallelism 2: the records cross the exchange as columnar batches.
  const job = (limit) => runJob(
    `const job = new Job("wide-exchange", { parallelism: 2 });
job.source(sources.generator({ count: 4 })).map((n: number) => ({ pad: "\\n".repeat(100) + n }))
  .name("pad").keyBy((r: { pad: string }) => r.pad).reduce((a: { pad: string }, b: { pad: string }) => b)
  .sink(sinks.stdout());`,
    {}, ["--max-record-bytes", String(limit)]);
  // {"pad":"\n\n...0"}: 100 newlines written as 200 characters, 211 in all.
  const over = await job(210);
  assert.equal(over.code, 1, over.stderr);
  assert.match(over.stderr, /operator 'pad' \(op2\): RangeError: an output record's JSON is 211 characters long, over the cluster's limit of 210 bytes/);
  const fits = await job(211);
  assert.equal(fits.code, 0, fits.stderr);
  const got = fits.stdout.trim().split("\n").map((l) => JSON.parse(l).pad).sort();
  assert.deepEqual(got, [0, 1, 2, 3].map((n) => "\n".repeat(100) + n));
});

test("sluice run reads and writes only below its working directory (or --allow-path)", async () => {
  const escape = `escape-${process.pid}.jsonl`;
  const out = await runJob(
    `const job = new Job("escape");
job.source(sources.generator({ count: 3 })).sink(sinks.file({ path: "../${escape}" }), { name: "out" });`);
  assert.equal(out.code, 1, out.stderr);
  assert.match(out.stderr, /operator 'out' \(op2\): output file '.*' is outside the folders this worker allows \(\/.*sluice-e2e-\w+\); allow one with the worker's --allow-path/);
  assert.equal(existsSync(join(tmpdir(), escape)), false);
  const read = await runJob(
    `const job = new Job("peek");
job.source(sources.file({ path: "/etc/passwd" })).name("peek").sink(sinks.stdout());`);
  assert.equal(read.code, 1, read.stderr);
  assert.equal(read.stdout, "");
  assert.match(read.stderr, /operator 'peek' \(op1\): input file '\/etc\/passwd' is outside the folders this worker allows/);
  const link = makeProject({
    "job.ts": `${SDK}\nconst job = new Job("link");\njob.source(sources.file({ path: "in.txt" })).name("in").sink(sinks.stdout());\nexport default job;\n`,
  });
  try {
    execFileSync("ln", ["-s", "/etc/hostname", join(link.dir, "in.txt")]);
    const result = await sluice(["run", "job.ts"], { cwd: link.dir });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /input file '.*in.txt' \(resolved: '\/etc\/hostname'\) is outside the folders/);
  } finally {
    link.cleanup();
  }
});

test("an existing output file is refused unless the sink says overwrite: true", async () => {
  const job = (overwrite) => `const job = new Job("out");
job.source(sources.generator({ count: 2 })).sink(sinks.file({ path: "out.jsonl"${overwrite ? ", overwrite: true" : ""} }), { name: "out" });`;
  const kept = await runJob(job(false), { "out.jsonl": "precious\n" });
  assert.equal(kept.code, 1, kept.stderr);
  assert.match(kept.stderr, /operator 'out' \(op2\): output file '.*out.jsonl' exists; the sink overwrites it only with overwrite: true/);
  assert.equal(kept.files["out.jsonl"], "precious\n");
  const replaced = await runJob(job(true), { "out.jsonl": "precious\n" });
  assert.equal(replaced.code, 0, replaced.stderr);
  assert.equal(replaced.files["out.jsonl"], "0\n1\n");
});

test("async functions are refused when the job is built, and by the coordinator", async () => {
  const sdk = await runJob(
    `const job = new Job("async");
job.source(sources.generator({ count: 3 })).map(async (x: number) => ({ d: x * 2 })).name("double").sink(sinks.stdout());`);
  assert.equal(sdk.code, 2, sdk.stderr);
  assert.match(sdk.stderr, /operator 'double' \(op2\): an async function returns a Promise/);
  assert.equal(sdk.stdout, "");
  const spec = {
    name: "async-spec",
    operators: [
      { id: "op1", name: "gen", kind: "source.generator", configJson: '{"count":3}' },
      { id: "op2", name: "double", kind: "map", functions: { fn: "async (x) => ({ d: x * 2 })" } },
      { id: "op3", name: "out", kind: "sink.stdout" },
    ],
    edges: [{ from: "op1", to: "op2" }, { from: "op2", to: "op3" }],
  };
  const project = makeProject({ "spec.json": JSON.stringify(spec) });
  try {
    const result = await sluice(["run", "spec.json"], { cwd: project.dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /"double" \(op2\), function "fn": the function is async: it would return a Promise/);
  } finally {
    project.cleanup();
  }
});

test("a Promise or a Map returned at run time fails naming the operator", async () => {
  const promise = await runJob(
    `const job = new Job("promise");
job.source(sources.generator({ count: 3 })).map((x: number) => Promise.resolve(x)).name("later").sink(sinks.stdout());`);
  assert.equal(promise.code, 1, promise.stderr);
  assert.equal(promise.stdout, "");
  assert.match(promise.stderr, /operator 'later' \(op2\): TypeError: a Promise \(async functions are not supported\) cannot be written as JSON/);
  const map = await runJob(
    `const job = new Job("map", { parallelism: 2 });
job.source(sources.generator({ count: 4 })).map((x: number) => ({ x, m: new Map([[x, 1]]) })).name("maps")
  .keyBy((r: any) => r.x).reduce((a: any, b: any) => b).sink(sinks.stdout());`);
  assert.equal(map.code, 1, map.stderr);
  assert.match(map.stderr, /operator 'maps' \(op2\): TypeError: a Map cannot be written as JSON \(field 'm'\)/);
});

test("NaN, Infinity and undefined fields follow JSON.stringify on stdout and across the exchange", async () => {
  const expected = ['{"x":0,"a":null,"c":null}', '{"x":1,"a":null,"c":null}', '{"x":2,"a":null,"c":null}'];
  const direct = await runJob(
    `const job = new Job("nan");
job.source(sources.generator({ count: 3 })).map((x: number) => ({ x, a: NaN, b: undefined, c: -Infinity })).sink(sinks.stdout());`);
  assert.equal(direct.code, 0, direct.stderr);
  assert.deepEqual(direct.stdout.trim().split("\n").sort(), expected);
  // keyBy at parallelism 2: the records cross the exchange as columnar batches first.
  const exchanged = await runJob(
    `const job = new Job("nan-exchanged", { parallelism: 2 });
job.source(sources.generator({ count: 3 })).map((x: number) => ({ x, a: NaN, c: -Infinity }))
  .keyBy((r: any) => r.x).reduce((a: any, b: any) => ({ x: b.x, a: b.a, b: b.b, c: b.c })).sink(sinks.stdout());`);
  assert.equal(exchanged.code, 0, exchanged.stderr);
  assert.deepEqual(exchanged.stdout.trim().split("\n").sort(), expected);
});

// On one worker: a bystander job runs on while other jobs hit each limit, are cancelled in the
// middle of blocking reads, or are refused.
let cluster;
let project;
let bystander;

/** The bystander's records in so far, from `sluice status`. */
async function bystanderRecords() {
  const status = await sluice(["status", bystander, "--coordinator", cluster.address]);
  assert.match(status.stdout, /state:\s+running/, status.stdout);
  return [...status.stdout.matchAll(/ in (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
}

/** Waits until the bystander has taken in more records than `since`. */
async function bystanderMovesOn(since) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    if ((await bystanderRecords()) > since) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`the bystander job took in no records after ${since} within 10 s`);
}

async function submit(name, body, options) {
  const made = `new Job("${name}"${options ? `, ${JSON.stringify(options)}` : ""})`;
  writeFileSync(join(project.dir, `${name}.ts`), `${SDK}\nconst job = ${made};\n${body}\nexport default job;\n`);
  const result = await sluice(["submit", `${name}.ts`, "--coordinator", cluster.address], { cwd: project.dir });
  return { ...result, id: result.stdout.trim() };
}

/** Tasks the worker's heartbeats say are running. */
async function runningTasks() {
  const workers = await sluice(["workers", "--coordinator", cluster.address]);
  const row = workers.stdout.trim().split("\n")[1].trim().split(/\s+/);
  return row[4] === "-" ? -1 : Number(row[4]);
}

before(async () => {
  project = makeProject({});
  cluster = await startCluster({ workers: 1, slots: 16, workerArgs: ["--allow-path", project.dir, "--max-line-bytes", "65536"] });
  const started = await submit("bystander", `job.source(sources.generator({ rate: 200 })).map((n: number) => n * 2).sink(sinks.discard());`);
  assert.equal(started.code, 0, started.stderr);
  bystander = started.id;
  await bystanderMovesOn(0);
});

after(async () => {
  await cluster?.stop();
  project?.cleanup();
});

test("cluster: jobs that hit a limit fail alone; the worker keeps serving the bystander", async () => {
  writeFileSync(join(project.dir, "long.txt"), `${"y".repeat(100000)}\n`);
  const cases = [
    ["typed", TYPED_BODY, /ArrayBuffers and typed arrays may hold at most the heap limit/, { heapLimitMb: 32 }],
    ["heap", `job.source(sources.generator({ count: 10 })).map((n: number) => { const a: number[][] = []; for (;;) a.push(new Array(1e5).fill(n)); }).name("hoard").sink(sinks.discard());`, /operator 'hoard' \(op2\) exceeded the JS heap limit of 32 MB/, { heapLimitMb: 32 }],
    ["line", `job.source(sources.file({ path: "long.txt" })).name("in").sink(sinks.discard());`, /line 1 of '.*long.txt' \(at byte offset 0\) is longer than the limit of 65536 bytes/],
    ["outside", `job.source(sources.file({ path: "/etc/passwd" })).name("in").sink(sinks.discard());`, /input file '\/etc\/passwd' is outside the folders this worker allows/],
  ];
  for (const [name, body, expected, options] of cases) {
    const before = await bystanderRecords();
    const file = `${SDK}\nconst job = new Job("${name}"${options ? `, ${JSON.stringify(options)}` : ""});\n${body}\nexport default job;\n`;
    writeFileSync(join(project.dir, `${name}.ts`), file);
    const submitted = await sluice(["submit", `${name}.ts`, "--coordinator", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const text = await waitForStatus(submitted.stdout.trim(), cluster.address);
    assert.match(text, /state:\s+failed/, `${name}: ${text}`);
    assert.match(text, expected, `${name}: ${text}`);
    await bystanderMovesOn(before);
  }
});

test("cluster: cancel stops tasks blocked on a FIFO, inside a long line, or in a busy function", async () => {
  const quiet = join(project.dir, "quiet.fifo");
  const trickle = join(project.dir, "trickle.fifo");
  execFileSync("mkfifo", [quiet, trickle]);
  // A writer that sends part of a line and then holds the FIFO open without a newline.
  const writer = spawn("sh", ["-c", `exec 3>"${trickle}"; printf 'no-newline-yet' >&3; sleep 60`], { stdio: "ignore" });
  try {
    const idle = await runningTasks();
    const jobs = [
      await submit("quiet", `job.source(sources.file({ path: "quiet.fifo" })).sink(sinks.discard());`),
      await submit("trickle", `job.source(sources.file({ path: "trickle.fifo" })).sink(sinks.discard());`),
      await submit("busy", `job.source(sources.generator({ count: 10 })).map((n: number) => { for (;;) n++; }).sink(sinks.discard());`, { callTimeout: "5m" }),
    ];
    for (const job of jobs) {
      assert.equal(job.code, 0, job.stderr);
      await waitForStatus(job.id, cluster.address, (t) => /state:\s+running/.test(t) && !/deploying/.test(t));
    }
    const deadline = Date.now() + 10000;
    while ((await runningTasks()) < idle + jobs.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await runningTasks(), idle + jobs.length);
    const before = await bystanderRecords();
    const cancelled = Date.now();
    for (const job of jobs) {
      const result = await sluice(["cancel", job.id, "--coordinator", cluster.address]);
      assert.equal(result.code, 0, result.stderr);
    }
    // The worker's heartbeats show the tasks gone: their threads ended.
    while ((await runningTasks()) > idle && Date.now() - cancelled < 5000) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await runningTasks(), idle, "the cancelled tasks still run 5 s after the cancel");
    for (const job of jobs) assert.match(await waitForStatus(job.id, cluster.address), /state:\s+canceled/);
    await bystanderMovesOn(before);
  } finally {
    writer.kill("SIGKILL");
  }
});

test("cluster: a second running job cannot claim the first one's output file", async () => {
  const first = await submit("writer1", `job.source(sources.generator({ rate: 50 })).sink(sinks.file({ path: "shared.jsonl" }), { name: "out" });`);
  assert.equal(first.code, 0, first.stderr);
  await waitForStatus(first.id, cluster.address, (t) => /state:\s+running/.test(t));
  const second = await submit("writer2", `job.source(sources.generator({ count: 40 })).sink(sinks.file({ path: "shared.jsonl", overwrite: true }), { name: "out" });`);
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, new RegExp(`output file '.*shared.jsonl' is written by running job ${first.id} 'writer1'`));
  await sluice(["cancel", first.id, "--coordinator", cluster.address]);
  await waitForStatus(first.id, cluster.address);
  // Once the first job ended, the path is free again (overwrite: the file exists now).
  const third = await submit("writer3", `job.source(sources.generator({ count: 40 })).sink(sinks.file({ path: "shared.jsonl", overwrite: true }), { name: "out" });`);
  assert.equal(third.code, 0, third.stderr);
  assert.match(await waitForStatus(third.id, cluster.address), /state:\s+finished/);
  assert.equal(readFileSync(join(project.dir, "shared.jsonl"), "utf8").trim().split("\n").length, 40);
});
