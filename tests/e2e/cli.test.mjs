// The `sluice` command line on the embedded cluster, and its answers to bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, makeProject, sluice } from "./harness.mjs";

const lastLine = (text) => text.trim().split("\n").pop();

test("every command has --help", async () => {
  for (const args of [[], ["run"], ["submit"], ["list"], ["status"], ["cancel"], ["coordinator"], ["worker"]]) {
    const result = await sluice([...args, "--help"]);
    assert.equal(result.code, 0, `sluice ${args.join(" ")} --help: ${result.stderr}`);
    assert.match(result.stdout, /Usage|Options/);
  }
});

test("sluice run prints the example's records on stdout and exits 0", async () => {
  const result = await sluice(["run", "job.ts"], { cwd: join(REPO, "examples/words") });
  assert.equal(result.code, 0, result.stderr);
  const words = result.stdout.trim().split("\n").map((l) => JSON.parse(l).word).sort();
  assert.deepEqual(words, [
    "batches", "cluster", "embedded", "functions", "inside", "isolates", "lightweight",
    "passes", "record", "sluice", "streaming", "through", "typescript", "user's", "workers",
    "written",
  ]);
  assert.match(result.stderr, /finished in \d+ ms: \d+ records in, 16 out/);
});

test("--param and --parallelism override the job's", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("params", { params: { add: 1 } });
job.source(sources.generator({ count: 6 })).map((n: number, p) => n + p.add).sink(sinks.collect());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts", "--param", "add=100", "--parallelism", "3"], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.stdout.trim().split("\n").map(Number).sort((a, b) => a - b), [100, 101, 102, 103, 104, 105]);
  } finally {
    project.cleanup();
  }
});

test("file source in JSON lines format and a file sink", async () => {
  const project = makeProject({
    "in.jsonl": '{"a":1}\n{"a":2}\n\n{"a":3}\n',
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("json-files");
job.source(sources.file<{ a: number }>({ path: "in.jsonl", format: "json" }))
  .map((r) => ({ b: r.a * 10 }))
  .sink(sinks.file({ path: "out.jsonl" }));
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    const { readFileSync } = await import("node:fs");
    assert.equal(readFileSync(join(project.dir, "out.jsonl"), "utf8"), '{"b":10}\n{"b":20}\n{"b":30}\n');
  } finally {
    project.cleanup();
  }
});

test("a missing job file is one clear line", async () => {
  const result = await sluice(["run", "/nonexistent/job.ts"]);
  assert.notEqual(result.code, 0);
  assert.match(lastLine(result.stderr), /cannot read job file '\/nonexistent\/job.ts'/);
});

test("a job file without a default-exported Job is one clear line", async () => {
  const project = makeProject({ "job.ts": `export const x = 1;\n` });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /does not default-export a Job/);
  } finally {
    project.cleanup();
  }
});

test("a function that uses a variable from outside is refused when the job is built", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const threshold = 10;
const job = new Job("free-variable");
job.source(sources.generator({ count: 6 })).filter((n: number) => n > threshold).name("big").sink(sinks.stdout());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /big/);
    assert.match(result.stderr, /threshold/);
  } finally {
    project.cleanup();
  }
});

test("a missing input file fails the job naming the operator and the path", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("missing-input");
job.source(sources.file({ path: "no-such-input.txt" })).name("input").sink(sinks.stdout());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(result.code, 1);
    assert.match(lastLine(result.stderr), /job 'missing-input' failed: .*input.*no-such-input\.txt.*No such file/);
  } finally {
    project.cleanup();
  }
});

test("an invalid job spec is refused with every problem, each naming its operator", async () => {
  const spec = {
    name: "broken",
    operators: [
      { id: "op1", name: "numbers", kind: "source.generator", configJson: '{"count":3}' },
      { id: "op2", name: "teleport", kind: "teleport" },
      { id: "op3", name: "parse", kind: "map", functions: { fn: "(r) => { return r +; }" } },
      { id: "op4", name: "loop-a", kind: "map", functions: { fn: "(r) => r" } },
      { id: "op5", name: "loop-b", kind: "map", functions: { fn: "(r) => r" } },
      { id: "op6", name: "out", kind: "sink.stdout" },
    ],
    edges: [
      { from: "op1", to: "op3" },
      { from: "op3", to: "op6" },
      { from: "op4", to: "op5" },
      { from: "op5", to: "op4" },
      { from: "op2", to: "op9" },
    ],
  };
  const project = makeProject({ "spec.json": JSON.stringify(spec) });
  try {
    const result = await sluice(["run", "spec.json"], { cwd: project.dir });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /job 'broken' was refused/);
    assert.match(result.stderr, /teleport.*unknown|unknown.*teleport/i);   // unknown kind
    assert.match(result.stderr, /parse.*SyntaxError/);                      // does not compile
    assert.match(result.stderr, /cycle.*loop-a|loop-a.*cycle/i);            // cycle
    assert.match(result.stderr, /op9/);                                     // dangling edge
  } finally {
    project.cleanup();
  }
});

test("an unreachable coordinator is said plainly, with a non-zero exit", async () => {
  for (const args of [["list"], ["status", "job-x"], ["cancel", "job-x"]]) {
    const result = await sluice([...args, "--coordinator", "127.0.0.1:1"]);
    assert.equal(result.code, 1);
    assert.equal(lastLine(result.stderr), "error: cannot reach the Sluice coordinator at 127.0.0.1:1 (is it running?)");
  }
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("nowhere");
job.source(sources.generator({ count: 1 })).sink(sinks.stdout());
export default job;
`,
  });
  try {
    const result = await sluice(["submit", "job.ts"], { cwd: project.dir, env: { SLUICE_COORDINATOR: "127.0.0.1:1" } });
    assert.equal(result.code, 1);
    assert.match(lastLine(result.stderr), /cannot reach the Sluice coordinator at 127\.0\.0\.1:1/);
  } finally {
    project.cleanup();
  }
});

test("job.run() from a Node program runs embedded and resolves to the collected records", async () => {
  const project = makeProject({
    "main.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("embedded", { parallelism: 2 });
job.source(sources.nexmark({ events: 5000 }))
  .filter((e) => e.type === "person")
  .map((e) => (e.type === "person" ? e.id : -1))
  .sink(sinks.collect());
const ids = await job.run<number>();
console.log(JSON.stringify(ids.sort((a, b) => a - b)));
`,
  });
  try {
    const { node } = await import("./harness.mjs");
    const result = await node("main.mjs", { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    const ids = JSON.parse(lastLine(result.stdout));
    // One person in every 50 events; person ids count up from 1000.
    assert.deepEqual(ids, Array.from({ length: 100 }, (_, i) => 1000 + i));
  } finally {
    project.cleanup();
  }
});

test("the word-count example counts every word exactly", async () => {
  const result = await sluice(["run", "job.ts", "--parallelism", "3"], { cwd: join(REPO, "examples/word-count") });
  assert.equal(result.code, 0, result.stderr);
  const final = new Map();
  for (const line of result.stdout.trim().split("\n")) {
    const { word, count } = JSON.parse(line);
    final.set(word, Math.max(final.get(word) ?? 0, count));
  }
  const { readFileSync } = await import("node:fs");
  const expected = new Map();
  for (const w of readFileSync(join(REPO, "examples/word-count/input.txt"), "utf8").split(/\s+/)) {
    if (w.length > 0) expected.set(w.toLowerCase(), (expected.get(w.toLowerCase()) ?? 0) + 1);
  }
  assert.deepEqual(new Map([...final].sort()), new Map([...expected].sort()));
});
