// The job compiler the sluice CLI runs: `node dist/cli/compile-job.js <job> [overrides]`,
// on job files in a temporary folder that has no node_modules.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

const COMPILER = fileURLToPath(new URL("../dist/cli/compile-job.js", import.meta.url));
let dir;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "sluice-compile-test-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name, text) {
  const file = join(dir, name);
  mkdirSync(join(file, ".."), { recursive: true });
  writeFileSync(file, text);
  return file;
}

function compile(args, cwd = dir) {
  const r = spawnSync(process.execPath, [COMPILER, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const WORD_COUNT = `
import { Job, sources, sinks } from "@sluice/sdk";

interface Word { word: string; count: number }

const job = new Job("word-count", { parallelism: 2, params: { minLength: 3 } });
job.source(sources.file({ path: "input.txt" }))
   .flatMap((line: string) => line.split(/\\s+/))
   .filter((w: string, params: { minLength: number }) => w.length >= params.minLength)
   .map((w: string): Word => ({ word: w.toLowerCase(), count: 1 }))
   .parallelism(3)
   .sink(sinks.stdout());
console.log("this goes to stderr, not into the spec");
export default job;
`;

test("compiles a TypeScript job file to its JobSpec on stdout", () => {
  write("wc/job.ts", WORD_COUNT);
  const r = compile(["wc/job.ts"]);
  assert.equal(r.stderr, "this goes to stderr, not into the spec\n");
  assert.equal(r.code, 0);
  const lines = r.stdout.split("\n");
  assert.equal(lines.length, 2, "one line of JSON and a newline");
  const spec = JSON.parse(lines[0]);
  assert.equal(spec.name, "word-count");
  assert.deepEqual(spec.operators.map((o) => o.kind), ["source.file", "flat_map", "filter", "map", "sink.stdout"]);
  // Types are stripped, nothing else changes; relative paths resolve against the cwd.
  assert.equal(spec.operators[2].functions.fn, "(w, params) => w.length >= params.minLength");
  assert.equal(spec.operators[3].functions.fn, "(w) => ({ word: w.toLowerCase(), count: 1 })");
  assert.equal(JSON.parse(spec.operators[0].configJson).path, join(dir, "input.txt"));
  assert.equal(spec.parallelism, 2);
  assert.equal(spec.paramsJson, '{"minLength":3}');
});

test("--parallelism and --param override the job's settings", () => {
  write("wc/job.ts", WORD_COUNT.replace("params: { minLength: 3 }", 'params: { minLength: 3, tag: "x", list: [0], on: false }'));
  const r = compile(["wc/job.ts", "--parallelism", "5", "--param", "minLength=7", "--param", "tag=123", "--param=list=[1,2]", "--param", "on=true"]);
  assert.equal(r.code, 0, r.stderr);
  const spec = JSON.parse(r.stdout);
  assert.equal(spec.parallelism, 5);
  // Operators without their own parallelism follow the job's; explicit ones keep theirs.
  assert.deepEqual(spec.operators.map((o) => o.parallelism), [0, 0, 0, 3, 0]);
  // Each value is read as its default's type: "123" stays a string for a string param.
  assert.deepEqual(JSON.parse(spec.paramsJson), { minLength: 7, tag: "123", list: [1, 2], on: true });
});

test("--param refuses a key the job does not declare and a value of the wrong type, naming the key", () => {
  write("wc/job.ts", WORD_COUNT);
  const unknown = compile(["wc/job.ts", "--param", "tag=hello"]);
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, "--param tag=hello: job 'word-count' has no param 'tag' (its params: minLength)\n");
  const wrong = compile(["wc/job.ts", "--param", "minLength=abc"]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^--param minLength=abc: param 'minLength' of job 'word-count' must be a number, as its default 3 is; got 'abc'\n$/);
});

test("--param overrides are visible in job.params while the job file is built", () => {
  write("events/job.ts", `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("sized", { params: { events: 10, label: "x" } });
job.source(sources.nexmark({ events: job.params.events })).sink(sinks.discard());
export default job;
`);
  const plain = JSON.parse(compile(["events/job.ts"]).stdout);
  assert.equal(JSON.parse(plain.operators[0].configJson).events, 10);
  const r = compile(["events/job.ts", "--param", "events=2500"]);
  assert.equal(r.code, 0, r.stderr);
  const spec = JSON.parse(r.stdout);
  assert.equal(JSON.parse(spec.operators[0].configJson).events, 2500);
  assert.deepEqual(JSON.parse(spec.paramsJson), { events: 2500, label: "x" });
});

test("a plain JavaScript job file compiles too", () => {
  write("plain.mjs", `
    import { Job, sources, sinks } from "@sluice/sdk";
    export default new Job("gen").source(sources.generator({ count: 3 })).map((i) => i * i).sink(sinks.collect());
  `);
  const r = compile(["plain.mjs"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).operators[1].functions.fn, "(i) => i * i");
});

test("a missing job file is one clear line", () => {
  const r = compile(["missing.ts"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(r.stderr, "cannot read job file 'missing.ts': no such file\n");
});

test("a syntax error names the file and line", () => {
  write("broken.ts", `import { Job } from "@sluice/sdk";\n\nconst job = new Job("x";\nexport default job;\n`);
  const r = compile(["broken.ts"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^cannot compile job file 'broken\.ts': broken\.ts:3:\d+: Expected "\)" but found ";"\n$/);
});

test("a file without a default-exported Job is refused", () => {
  write("noexport.ts", `import { Job } from "@sluice/sdk";\nexport const job = new Job("x");\n`);
  const r = compile(["noexport.ts"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "job file 'noexport.ts' does not default-export a Job (add `export default job`)\n");
  write("wrongexport.ts", `export default { toSpec() { return {}; } };\n`);
  assert.match(compile(["wrongexport.ts"]).stderr, /does not default-export a Job/);
});

test("every free-variable problem is reported, one per line", () => {
  write("closure.ts", `
    import { Job, sources, sinks } from "@sluice/sdk";
    const threshold = 10;
    function helper(x: number) { return x + 1; }
    const job = new Job("closures");
    job.source(sources.generator({ count: 10 }))
       .filter((x) => x > threshold)
       .map((x) => helper(x))
       .sink(sinks.stdout());
    export default job;
  `);
  const r = compile(["closure.ts"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    "job 'closures' has 2 problems:\n" +
      "  - operator 'filter#2' (op2): the function refers to 'threshold', which is defined outside it; functions run on workers and must be self-contained — pass values through params\n" +
      "  - operator 'map#3' (op3): the function refers to 'helper', which is defined outside it; functions run on workers and must be self-contained — pass values through params\n",
  );
});

test("an exception while loading the job file is one line", () => {
  write("throws.ts", `import { Job } from "@sluice/sdk";\nexport default new Job("x", { checkpointInterval: "soon" as any });\n`);
  const r = compile(["throws.ts"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^job file 'throws\.ts' failed while loading: job 'x': checkpointInterval: "soon" is not a valid duration .*\n$/);
});

test("a job file that runs its job instead of exporting it is stopped", () => {
  write("runs.ts", `
    import { Job, sources, sinks } from "@sluice/sdk";
    const job = new Job("x");
    job.source(sources.generator({ count: 1 })).sink(sinks.collect());
    await job.run();
    export default job;
  `);
  const r = compile(["runs.ts"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /job\.run\(\) was called while the job file was being compiled/);
});

test("the job folder's own installed @sluice/sdk wins over the bundled one", () => {
  write("project/node_modules/@sluice/sdk/package.json", JSON.stringify({ name: "@sluice/sdk", type: "module", main: "index.js" }));
  write("project/node_modules/@sluice/sdk/index.js", `
    export class Job {
      constructor(name) { this.name = name; Object.defineProperty(this, Symbol.for("sluice.job"), { value: 1 }); }
      toSpec() { return { name: this.name + " from the project's own SDK", operators: [], edges: [], parallelism: 0, paramsJson: "{}" }; }
    }
  `);
  write("project/job.ts", `import { Job } from "@sluice/sdk";\nexport default new Job("mine");\n`);
  const r = compile(["project/job.ts"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).name, "mine from the project's own SDK");
});

test("bad arguments are refused", () => {
  assert.match(compile([]).stderr, /^no job file given; usage: compile-job/);
  assert.match(compile(["x.ts", "--parallelism", "0"]).stderr, /--parallelism must be an integer >= 1, got '0'/);
  assert.match(compile(["x.ts", "--param", "novalue"]).stderr, /--param expects key=value, got 'novalue'/);
  assert.match(compile(["x.ts", "--bogus"]).stderr, /unknown option '--bogus'/);
  assert.equal(compile(["--help"]).code, 0);
});

test("a repeated compile gives the same spec and the same function problems, without loading the parser", () => {
  const cache = join(dir, "memo-cache");
  const seen = join(dir, "loaded-acorn.txt");
  // Says, as the process exits, whether acorn (loaded with require) was loaded.
  const probe = write("probe.cjs", `process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(seen)},
    String(Object.keys(require.cache).some((f) => /[\\\\/]acorn[\\\\/]/.test(f)))));`);
  const run = (file) => {
    const r = spawnSync(process.execPath, ["--require", probe, COMPILER, file], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, SLUICE_CACHE_DIR: cache },
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, acorn: readFileSync(seen, "utf8") === "true" };
  };
  write("memo/ok.ts", WORD_COUNT);
  write("memo/bad.ts", `
    import { Job, sources, sinks } from "@sluice/sdk";
    const limit = 3;
    const job = new Job("bad");
    job.source(sources.generator({ count: 10 }))
       .filter((x) => x > limit)
       .map({ twice(x: number) { return x * 2; } }.twice)
       .map(function (this: unknown, x: number) { return this; })
       .sink(sinks.stdout());
    export default job;
  `);
  for (const file of ["memo/ok.ts", "memo/bad.ts"]) {
    const first = run(file);
    assert.equal(first.acorn, true, "the first compile analyses the functions");
    assert.match(first.stdout + first.stderr, file.endsWith("ok.ts") ? /"word-count"/ : /has 2 problems/);
    for (let i = 0; i < 2; i++) {
      const again = run(file);
      assert.deepEqual({ ...again, acorn: false }, { ...first, acorn: false });
      assert.equal(again.acorn, false, "a repeated compile takes the analysis from the cache");
    }
  }
  // Without the cache, the same again (the parser is loaded).
  write("memo/off.ts", WORD_COUNT);
  const off = spawnSync(process.execPath, [COMPILER, "memo/ok.ts"], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, SLUICE_CACHE: "off" },
  });
  assert.equal(off.stdout, run("memo/ok.ts").stdout);
});
