// `sluice run --driver-dir`: every task writes the JS driver it runs, and that file is the
// driver itself (it runs in Node with the same functions and gives the job's output).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import vm from "node:vm";
import { REPO, makeProject, sluice } from "./harness.mjs";

const JOB = `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("driver");
job.source(sources.generator({ count: 6 })).name("numbers")
  .map((n: number) => ({ n, double: n * 2 })).name("double")
  .sink(sinks.collect());
export default job;
`;

const KEYED_JOB = `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("driver-keyed");
job.source(sources.generator({ count: 20 }))
  .map((n: number) => ({ k: n % 3, v: n })).name("pair")
  .keyBy((r) => r.k)
  .reduce((a, b) => ({ k: a.k, v: a.v + b.v })).name("sum")
  .sink(sinks.collect());
export default job;
`;

function drivers(dir) {
  return readdirSync(dir).sort().map((name) => ({ name, text: readFileSync(join(dir, name), "utf8") }));
}

test("--driver-dir writes the driver a stateless chain runs, and that driver gives the job's output", async () => {
  const project = makeProject({ "job.ts": JOB });
  const dir = mkdtempSync(join(tmpdir(), "sluice-drivers-"));
  try {
    const result = await sluice(["run", "job.ts", "--driver-dir", dir], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    const files = drivers(dir);
    assert.equal(files.length, 1, files.map((f) => f.name).join(", "));
    const { name, text } = files[0];
    assert.match(name, /\.g0\.0\.js$/);
    assert.match(text, /^\/\/ Task .*\/g0\.0\n/);
    assert.match(text, /stage 0: source\.generator 'numbers'/);
    assert.match(text, /stage 1: map 'double'/);
    assert.match(text, /stats\[STAT\.recordsIn\] = nIn;/);

    // The printed file is the driver: run it in Node with the job's function.
    const factory = vm.runInNewContext(text);
    const stats = new Float64Array(7);
    const load = (file) => vm.runInNewContext(readFileSync(join(REPO, "worker/js/runtime", file), "utf8"));
    const run = factory({
      fns: [{}, { fn: (n) => ({ n, double: n * 2 }) }],
      paramsJson: "{}", sourceConfigJson: '{"count":6}', nexmark: undefined, stats,
      keys: load("keys.js"), codec: load("codec.js"), inKeyFns: [], outKeyFns: [], rt: {},
    });
    const out = run(0, 1, 6);
    assert.deepEqual(out.trim().split("\n").sort(), result.stdout.trim().split("\n").sort());
    assert.equal(stats[0], 6);  // STAT.recordsIn
    assert.equal(stats[1], 6);  // STAT.recordsOut
  } finally {
    rmSync(dir, { recursive: true, force: true });
    project.cleanup();
  }
});

test("--driver-dir writes one driver per task: the hash edge on one side, the keyed operator on the other", async () => {
  const project = makeProject({ "job.ts": KEYED_JOB });
  const dir = mkdtempSync(join(tmpdir(), "sluice-drivers-"));
  try {
    const result = await sluice(["run", "job.ts", "-p", "2", "--driver-dir", dir], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    const files = drivers(dir);
    const sending = files.filter((f) => /Output edge 0: hash to 2 subtask\(s\)/.test(f.text));
    const keyed = files.filter((f) => /Input: .*, keyed/.test(f.text));
    assert.ok(sending.length >= 1, files.map((f) => f.text.split("\n").slice(0, 6).join("\n")).join("\n\n"));
    assert.equal(keyed.length, 2, files.map((f) => f.name).join(", "));
    for (const f of keyed) {
      assert.match(f.text, /reduce 'sum'/);
      assert.match(f.text, /stats\[STAT\.lateDropped\]/);
      assert.doesNotThrow(() => new vm.Script(f.text), f.name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    project.cleanup();
  }
});

test("a --driver-dir that cannot be written fails the job naming the file", async () => {
  const project = makeProject({ "job.ts": JOB, "not-a-dir": "" });
  try {
    const result = await sluice(["run", "job.ts", "--driver-dir", "not-a-dir"], { cwd: project.dir });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /cannot write the JS driver of task \S+ to not-a-dir\/\S+\.js/);
  } finally {
    project.cleanup();
  }
});

test("SLUICE_DRIVER_DIR does the same as the flag", async () => {
  const project = makeProject({ "job.ts": JOB });
  const dir = mkdtempSync(join(tmpdir(), "sluice-drivers-"));
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir, env: { SLUICE_DRIVER_DIR: dir } });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(drivers(dir).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    project.cleanup();
  }
});
