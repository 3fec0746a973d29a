// Messages the CLI gives for careless or hostile input, and signals to `sluice run`: each test
// is one finding of issue 13 (finding 9 and the SIGINT/SIGTERM half of finding 2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SLUICE, makeProject, sluice, startCluster } from "./harness.mjs";
import { poll } from "./servers.mjs";

const WORDS_JOB = `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("words", { params: { minLength: 3, tag: "x", loud: false, ids: [1] } });
job.source(sources.generator({ count: 4 }))
  .map((n: number, p) => ({ n, tag: p.tag, loud: p.loud, ids: p.ids, keep: String(n * 1000).length >= p.minLength }))
  .sink(sinks.collect());
export default job;
`;

/** Starts `sluice run ...` and resolves with the child once stderr matches `ready`. */
function startRun(args, cwd, ready) {
  const child = spawn(SLUICE, ["run", ...args], { cwd });
  let stderr = "";
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stderr })));
  const started = new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      stderr += d;
      if (ready.test(stderr)) resolve();
    });
    child.on("close", () => reject(new Error(`sluice run ended before ${ready}: ${stderr}`)));
  });
  return { child, started, exited, stderr: () => stderr };
}

/** The pids whose parent is `pid` (from /proc). */
function childrenOf(pid) {
  const found = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // it ended meanwhile
    }
  }
  return found;
}

/** User + system CPU ticks of `pid` so far (0 once it is gone). */
function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

function alive(pid) {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));  // a zombie is gone
  } catch {
    return false;
  }
}

test("--param values are read as the type of the job's default, and unknown keys refused", async () => {
  const project = makeProject({ "job.ts": WORDS_JOB });
  try {
    const wrongType = await sluice(["run", "job.ts", "--param", "minLength=abc"], { cwd: project.dir });
    assert.equal(wrongType.code, 2, wrongType.stderr);
    assert.match(wrongType.stderr, /--param minLength=abc: param 'minLength' of job 'words' must be a number, as its default 3 is; got 'abc'/);

    const unknown = await sluice(["run", "job.ts", "--param", "minLenght=4"], { cwd: project.dir });
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /job 'words' has no param 'minLenght' \(its params: minLength, tag, loud, ids\)/);

    const bool = await sluice(["run", "job.ts", "--param", "loud=yes"], { cwd: project.dir });
    assert.equal(bool.code, 2, bool.stderr);
    assert.match(bool.stderr, /param 'loud' .* must be a boolean \(true or false\)/);

    // Right types: a string param keeps digits as text, JSON for an array.
    const ok = await sluice(
      ["run", "job.ts", "--param", "minLength=4", "--param", "tag=123", "--param", "loud=true", "--param", "ids=[2,3]"],
      { cwd: project.dir },
    );
    assert.equal(ok.code, 0, ok.stderr);
    const records = ok.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(records.length, 4);
    for (const r of records) {
      assert.equal(r.tag, "123");
      assert.equal(r.loud, true);
      assert.deepEqual(r.ids, [2, 3]);
      assert.equal(r.keep, String(r.n * 1000).length >= 4);
    }
  } finally {
    project.cleanup();
  }
});

test("--param on a compiled JobSpec (.json) is checked the same way", async () => {
  const project = makeProject({ "job.ts": WORDS_JOB });
  try {
    const compiled = execFileSync(process.execPath, [join(project.dir, "node_modules/@sluice/sdk/dist/cli/compile-job.js"), "job.ts"], { cwd: project.dir });
    writeFileSync(join(project.dir, "job.json"), compiled);
    const wrongType = await sluice(["run", "job.json", "--param", "minLength=abc"], { cwd: project.dir });
    assert.equal(wrongType.code, 2, wrongType.stderr);
    assert.match(wrongType.stderr, /--param minLength=abc: param 'minLength' of job 'words' must be a number/);
    const unknown = await sluice(["run", "job.json", "--param", "nope=1"], { cwd: project.dir });
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /job 'words' has no param 'nope'/);
    const ok = await sluice(["run", "job.json", "--param", "tag=007"], { cwd: project.dir });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(JSON.parse(ok.stdout.trim().split("\n")[0]).tag, "007");
  } finally {
    project.cleanup();
  }
});

test("a keyBy selector that returns undefined is blamed on the keyed operator, not the source", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("bad-key");
job.source(sources.generator({ count: 5 })).name("numbers")
  .keyBy((n: number) => (n > 2 ? undefined : n))
  .reduce((a: number, b: number) => a + b).name("sum")
  .sink(sinks.collect());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /operator 'sum' \(op\d+\) \(key selector\): TypeError: the key selector returned undefined/);
    assert.doesNotMatch(result.stderr, /operator 'numbers' \(op1\): TypeError/);
  } finally {
    project.cleanup();
  }
});

test("a refused job lists its parallelism problem once, not once per operator", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("too-wide", { maxParallelism: 4 });
job.source(sources.generator({ count: 5 })).map((n: number) => n).sink(sinks.discard());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts", "--parallelism", "8"], { cwd: project.dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /the job's parallelism 8 exceeds its max_parallelism 4/);
    assert.doesNotMatch(result.stderr, /parallelism 0/);
    assert.equal(result.stderr.split("\n").filter((l) => l.startsWith("  - ")).length, 1, result.stderr);
  } finally {
    project.cleanup();
  }
});

test("a top-level await that never settles gets a message that says so", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
await new Promise(() => {});
const job = new Job("never");
job.source(sources.generator({ count: 1 })).sink(sinks.discard());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /job file 'job\.ts' never finished loading: a top-level await in it waits on a promise that never settles/);
    assert.doesNotMatch(result.stderr, /Unexpected end/);
  } finally {
    project.cleanup();
  }
});

test("SIGTERM while a job file loops at top level stops sluice and kills the compiler", { timeout: 60000 }, async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
while (true) {}
const job = new Job("spin");
job.source(sources.generator({ count: 1 })).sink(sinks.discard());
export default job;
`,
  });
  const child = spawn(SLUICE, ["run", "job.ts"], { cwd: project.dir });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal })));
  try {
    // The compiler (node) is running the loop.
    const { pids } = await poll("the job compiler to start", () => {
      const found = childrenOf(child.pid);
      return { ok: found.length > 0, pids: found };
    });
    const compiler = pids[0];
    // Give it time to be inside the loop (esbuild's bundle and the import come first).
    await poll("the compiler to use the CPU", () => ({ ok: cpuTicks(compiler) > 50 }), 20000);
    const before = Date.now();
    child.kill("SIGTERM");
    const { code, signal } = await exited;
    assert.equal(signal, null, "sluice handles SIGTERM itself");
    assert.equal(code, 130, stderr);
    assert.match(stderr, /interrupted while compiling job file 'job\.ts'/);
    assert.ok(Date.now() - before < 10000, "it stopped promptly");
    await poll("the compiler to be gone", () => ({ ok: !alive(compiler) }), 5000);
  } finally {
    child.kill("SIGKILL");
    project.cleanup();
  }
});

test("SIGINT stops sluice run even when a task is blocked and does not see the cancel", { timeout: 60000 }, async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("blocked");
job.source(sources.file({ path: "fifo" })).sink(sinks.discard());
export default job;
`,
  });
  // A FIFO nobody writes to: opening it for reading blocks.
  execFileSync("mkfifo", [join(project.dir, "fifo")]);
  const run = startRun(["job.ts"], project.dir, /running on the embedded cluster/);
  try {
    await run.started;
    const before = Date.now();
    run.child.kill("SIGINT");
    const { code, signal, stderr } = await run.exited;
    assert.equal(signal, null);
    assert.notEqual(code, 0, stderr);
    assert.match(stderr, /cancelling job/);
    assert.ok(Date.now() - before < 20000, `it stopped within the grace (${Date.now() - before} ms)`);
  } finally {
    run.child.kill("SIGKILL");
    project.cleanup();
  }
});

test("job names with newlines and ANSI escapes cannot forge rows in list and status", async () => {
  const cluster = await startCluster({ workers: 1 });
  const forged = "evil\\njob-00000000 FINISHED   1      fake\\u001b[2J\\u001b[31mred";
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("${forged}");
job.source(sources.generator({ count: 1 })).sink(sinks.discard());
export default job;
`,
  });
  try {
    const submitted = await sluice(["submit", "job.ts", "--coordinator", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const list = await sluice(["list", "--coordinator", cluster.address]);
    assert.equal(list.code, 0, list.stderr);
    const rows = list.stdout.trim().split("\n");
    assert.equal(rows.length, 2, `a header and one row:\n${list.stdout}`);
    assert.ok(rows[1].startsWith(id));
    assert.ok(rows[1].endsWith("evil\\njob-00000000 FINISHED   1      fake\\x1b[2J\\x1b[31mred"), rows[1]);
    assert.doesNotMatch(list.stdout, /\u001b/);
    const status = await sluice(["status", id, "--coordinator", cluster.address]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^name: {3}evil\\njob-00000000 FINISHED {3}1 {6}fake\\x1b\[2J\\x1b\[31mred$/m);
    assert.doesNotMatch(status.stdout, /\u001b/);
    assert.doesNotMatch(status.stdout, /^job-00000000/m);
  } finally {
    project.cleanup();
    await cluster.stop();
  }
});
