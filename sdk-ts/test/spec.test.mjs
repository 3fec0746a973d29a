// Job building: the JobSpec's exact shape, ids and names, options, params and durations.
import assert from "node:assert/strict";
import { resolve } from "node:path";
import { test } from "node:test";
import { Job, JobBuildError, isJob, sinks, sources, toMillis } from "../dist/index.js";

test("a word-count pipeline becomes exactly this JobSpec", () => {
  const job = new Job("word-count", { parallelism: 2, params: { minLength: 3 } });
  job
    .source(sources.file({ path: "input.txt" }))
    .flatMap((line) => line.split(/\s+/))
    .filter((w, params) => w.length >= params.minLength)
    .map((w) => ({ word: w.toLowerCase(), count: 1 }))
    .sink(sinks.stdout());
  assert.deepEqual(job.toSpec(), {
    name: "word-count",
    operators: [
      {
        id: "op1",
        name: "source.file#1",
        kind: "source.file",
        parallelism: 0,
        configJson: JSON.stringify({ path: resolve("input.txt"), format: "lines" }),
        functions: {},
      },
      {
        id: "op2",
        name: "flatMap#2",
        kind: "flat_map",
        parallelism: 0,
        configJson: "{}",
        functions: { fn: "(line) => line.split(/\\s+/)" },
      },
      {
        id: "op3",
        name: "filter#3",
        kind: "filter",
        parallelism: 0,
        configJson: "{}",
        functions: { fn: "(w, params) => w.length >= params.minLength" },
      },
      {
        id: "op4",
        name: "map#4",
        kind: "map",
        parallelism: 0,
        configJson: "{}",
        functions: { fn: "(w) => ({ word: w.toLowerCase(), count: 1 })" },
      },
      { id: "op5", name: "sink.stdout#5", kind: "sink.stdout", parallelism: 0, configJson: "{}", functions: {} },
    ],
    edges: [
      { from: "op1", to: "op2", partitioning: "FORWARD" },
      { from: "op2", to: "op3", partitioning: "FORWARD" },
      { from: "op3", to: "op4", partitioning: "FORWARD" },
      { from: "op4", to: "op5", partitioning: "FORWARD" },
    ],
    parallelism: 2,
    maxParallelism: 0,
    checkpointIntervalMs: 0,
    paramsJson: '{"minLength":3}',
    callTimeoutMs: 0,
    heapLimitMb: 0,
  });
});

test("the spec is plain JSON: it survives a JSON round trip unchanged", () => {
  const job = new Job("j");
  job.source(sources.generator({ count: 3 })).sink(sinks.discard());
  const spec = job.toSpec();
  assert.deepEqual(JSON.parse(JSON.stringify(spec)), spec);
});

test("name() and parallelism() set the operator that produced the stream", () => {
  const job = new Job("named", { parallelism: 4 });
  const words = job.source(sources.generator({ count: 10 })).name("numbers").parallelism(2);
  words
    .map((n) => n * 2)
    .name("double")
    .filter((n) => n > 3)
    .parallelism(2)
    .sink(sinks.collect(), { name: "out", parallelism: 2 });
  const ops = job.toSpec().operators.map((o) => [o.id, o.name, o.kind, o.parallelism]);
  assert.deepEqual(ops, [
    ["op1", "numbers", "source.generator", 2],
    ["op2", "double", "map", 0],
    ["op3", "filter#3", "filter", 2],
    ["op4", "out", "sink.collect", 2],
  ]);
});

test("sink() returns the job so a job file can end the chain with export default", () => {
  const job = new Job("j");
  const returned = job.source(sources.nexmark({ events: 5 })).sink(sinks.stdout());
  assert.equal(returned, job);
  assert.ok(isJob(returned));
  assert.ok(!isJob({ toSpec() {} }));
});

test("a stream used twice fans out to both operators", () => {
  const job = new Job("fan");
  const s = job.source(sources.generator({ count: 1 }));
  s.map((x) => x + 1).sink(sinks.stdout());
  s.sink(sinks.file({ path: "/tmp/out.jsonl" }));
  assert.deepEqual(
    job.toSpec().edges.map((e) => `${e.from}->${e.to}`),
    ["op1->op2", "op2->op3", "op1->op4"],
  );
});

test("job options: durations, limits and params go into the spec", () => {
  const job = new Job("opts", {
    parallelism: 3,
    maxParallelism: 64,
    checkpointInterval: "10s",
    callTimeout: 2500,
    heapLimitMb: 128,
    params: { threshold: 10, tags: ["a"], nested: { x: null } },
  });
  job.source(sources.generator()).sink(sinks.discard());
  const spec = job.toSpec();
  assert.equal(spec.parallelism, 3);
  assert.equal(spec.maxParallelism, 64);
  assert.equal(spec.checkpointIntervalMs, 10000);
  assert.equal(spec.callTimeoutMs, 2500);
  assert.equal(spec.heapLimitMb, 128);
  assert.deepEqual(JSON.parse(spec.paramsJson), { threshold: 10, tags: ["a"], nested: { x: null } });
});

test("job options: checkpoint settings and the restart strategy go into the spec", () => {
  const job = new Job("cp", {
    checkpointInterval: "1s",
    checkpointTimeout: "30s",
    checkpointsRetained: 5,
    checkpointMode: "at-least-once",
    restart: { attempts: 4, delay: "250ms" },
  });
  job.source(sources.generator()).sink(sinks.discard());
  const spec = job.toSpec();
  assert.equal(spec.checkpointIntervalMs, 1000);
  assert.equal(spec.checkpointTimeoutMs, 30000);
  assert.equal(spec.checkpointsRetained, 5);
  assert.equal(spec.checkpointMode, "AT_LEAST_ONCE");
  assert.deepEqual(spec.restart, { maxAttempts: 4, delayMs: 250 });
  const plain = new Job("plain");
  plain.source(sources.generator()).sink(sinks.discard());
  assert.equal(plain.toSpec().restart, undefined);
  assert.throws(() => new Job("j", { checkpointMode: "twice" }), /job 'j': checkpointMode must be "exactly-once" or "at-least-once"/);
  assert.throws(() => new Job("j", { restart: { attempts: -1 } }), /job 'j': restart.attempts must be a whole number >= 0/);
  assert.throws(() => new Job("j", { checkpointsRetained: 0 }), /job 'j': checkpointsRetained/);
});

test("durations: numbers are milliseconds; strings take ms, s, m, h", () => {
  assert.equal(toMillis(750, "d"), 750);
  assert.equal(toMillis("500ms", "d"), 500);
  assert.equal(toMillis("10s", "d"), 10_000);
  assert.equal(toMillis("1.5s", "d"), 1500);
  assert.equal(toMillis("5m", "d"), 300_000);
  assert.equal(toMillis("1h", "d"), 3_600_000);
  for (const bad of ["10", "10 sec", "-1s", "1d", "", "s", -5, Number.NaN, Infinity]) {
    assert.throws(() => toMillis(bad, "checkpointInterval"), /checkpointInterval: .* is not a valid duration/, String(bad));
  }
  assert.throws(() => new Job("j", { checkpointInterval: "10 seconds" }), /checkpointInterval.*"10 seconds".*"500ms", "10s"/);
});

test("invalid options and arguments throw clear errors at once", () => {
  assert.throws(() => new Job(""), /name must be a non-empty string/);
  assert.throws(() => new Job("j", { parallelism: 0 }), /job 'j': parallelism must be an integer >= 1, got 0/);
  assert.throws(() => new Job("j", { maxParallelism: 1.5 }), /maxParallelism must be an integer >= 1/);
  assert.throws(() => new Job("j", { params: [1, 2] }), /params must be a plain object/);
  const s = new Job("j").source(sources.generator());
  assert.throws(() => s.parallelism(-1), /parallelism\(\.\.\.\) on source\.generator#1 must be an integer >= 1/);
  assert.throws(() => s.name(""), /name must be a non-empty string/);
  assert.throws(() => s.map(42), /map\(fn\): fn must be a function/);
  assert.throws(() => s.sink(sources.generator()), /expects one of sinks\.\*/);
  assert.throws(() => new Job("j").source(sinks.stdout()), /expects one of sources\.\*/);
  assert.throws(() => sources.file({ path: "" }), /sources\.file: `path` must be a non-empty string/);
  assert.throws(() => sources.file({ path: "x", format: "csv" }), /format "csv" is not "lines" or "json"/);
  assert.throws(() => sources.generator({ count: -1 }), /count must be an integer >= 0/);
  assert.throws(() => sources.nexmark({ rate: 0 }), /rate must be a number > 0/);
});

test("source and sink configs follow proto/README.md", () => {
  const job = new Job("cfg");
  job.source(sources.generator({ count: 100, rate: 50, fn: (i, p) => ({ i, k: p.k }) })).sink(sinks.collect());
  job.source(sources.nexmark({ events: 1000, rate: 10, baseTime: 1_700_000_000_000, eventsPerSecond: 500 })).sink(sinks.discard());
  job.source(sources.file({ path: "/data/in.jsonl", format: "json" })).sink(sinks.file({ path: "out/x.jsonl" }));
  const ops = job.toSpec().operators;
  const config = (i) => JSON.parse(ops[i].configJson);
  assert.deepEqual(config(0), { count: 100, rate: 50 });
  assert.equal(ops[0].functions.fn, "(i, p) => ({ i, k: p.k })");
  assert.deepEqual(config(2), { events: 1000, rate: 10, baseTime: 1_700_000_000_000, eventsPerSecond: 500 });
  assert.deepEqual(config(4), { path: "/data/in.jsonl", format: "json" });
  assert.deepEqual(config(5), { path: resolve("out/x.jsonl") });
  assert.deepEqual(config(1), {});
  assert.deepEqual(new Job("g").source(sources.generator()).sink(sinks.discard()).toSpec().operators[0].functions, {});
});

test("relative paths resolve against the current directory when the job is built", () => {
  const job = new Job("paths");
  job.source(sources.file({ path: "in.txt" })).sink(sinks.file({ path: "out.jsonl" }));
  const before = process.cwd();
  try {
    process.chdir("/tmp");
    const ops = job.toSpec().operators;
    assert.equal(JSON.parse(ops[0].configJson).path, "/tmp/in.txt");
    assert.equal(JSON.parse(ops[1].configJson).path, "/tmp/out.jsonl");
  } finally {
    process.chdir(before);
  }
});

test("a job with no source, a dangling stream or duplicate names is refused with every problem", () => {
  assert.throws(() => new Job("empty").toSpec(), /job 'empty' has no source; start a stream with job\.source/);
  const job = new Job("j");
  const s = job.source(sources.generator({ count: 1 }));
  s.map((x) => x).name("same");
  s.filter((x) => x).name("same").sink(sinks.stdout());
  let error;
  try {
    job.toSpec();
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof JobBuildError);
  assert.deepEqual(error.problems, [
    "operator 'same' (op2): its output goes nowhere; end the stream with .sink(...)",
    "operator 'same' (op3): the name is also used by op2; operator names must be unique",
  ]);
  assert.match(error.message, /^job 'j' has 2 problems:\n  - operator 'same' \(op2\)/);
});

test("functions that refer to outside values are refused, naming operator and variable", () => {
  const threshold = 10;
  const factor = 2;
  const job = new Job("closures");
  job
    .source(sources.generator({ count: 10, fn: (i) => i * factor }))
    .filter((x) => x > threshold)
    .map((x) => x + 1)
    .name("inc")
    .sink(sinks.stdout());
  assert.throws(() => job.toSpec(), (e) => {
    assert.ok(e instanceof JobBuildError);
    assert.deepEqual(e.problems, [
      "operator 'source.generator#1' (op1): the function refers to 'factor', which is defined outside it; functions run on workers and must be self-contained — pass values through params",
      "operator 'filter#2' (op2): the function refers to 'threshold', which is defined outside it; functions run on workers and must be self-contained — pass values through params",
    ]);
    return true;
  });
});

test("a single problem is the whole message", () => {
  const limit = 3;
  const job = new Job("one");
  job.source(sources.generator()).map((x) => x + limit).sink(sinks.discard());
  assert.throws(
    () => job.toSpec(),
    { message: "operator 'map#2' (op2): the function refers to 'limit', which is defined outside it; functions run on workers and must be self-contained — pass values through params" },
  );
});

test("object methods are shipped as function expressions", () => {
  const fns = {
    double(x) {
      return x * 2;
    },
  };
  const job = new Job("methods");
  job.source(sources.generator()).map(fns.double).sink(sinks.discard());
  const fn = job.toSpec().operators[1].functions.fn;
  assert.match(fn, /^function \(x\) \{\s+return x \* 2;\s+\}$/);
  assert.equal(new Function(`return (${fn})`)()(21), 42);
});

test("keyBy(...).reduce(...) ships the key selector on a HASH edge into a reduce operator", () => {
  const job = new Job("counts", { parallelism: 3 });
  job
    .source(sources.generator({ count: 10, fn: (i) => ({ word: "w" + (i % 3), n: 1 }) }))
    .keyBy((r) => r.word)
    .reduce((a, b) => ({ word: a.word, n: a.n + b.n }))
    .sink(sinks.collect());
  const spec = job.toSpec();
  assert.deepEqual(spec.operators.map((o) => o.kind), ["source.generator", "reduce", "sink.collect"]);
  assert.equal(spec.operators[1].functions.fn, "(a, b) => ({ word: a.word, n: a.n + b.n })");
  assert.deepEqual(spec.edges, [
    { from: "op1", to: "op2", partitioning: "HASH", keyFn: "(r) => r.word" },
    { from: "op2", to: "op3", partitioning: "FORWARD" },
  ]);
});

test("keyBy(fn, { partitioned: true }) marks its HASH edge already partitioned; bad options are named", () => {
  const job = new Job("counts", { parallelism: 2 });
  job
    .source(sources.generator({ count: 10, fn: (i) => ({ k: i % 3, n: 1 }) }))
    .keyBy((r) => r.k)
    .reduce((a, b) => ({ k: a.k, n: a.n + b.n }))
    .keyBy((r) => r.k, { partitioned: true })
    .reduce((a, b) => (b.n > a.n ? b : a))
    .keyBy((r) => r.k, { partitioned: false })
    .reduce((a) => a)
    .sink(sinks.discard());
  assert.deepEqual(job.toSpec().edges, [
    { from: "op1", to: "op2", partitioning: "HASH", keyFn: "(r) => r.k" },
    { from: "op2", to: "op3", partitioning: "HASH", keyFn: "(r) => r.k", partitioned: true },
    { from: "op3", to: "op4", partitioning: "HASH", keyFn: "(r) => r.k" },
    { from: "op4", to: "op5", partitioning: "FORWARD" },
  ]);
  const stream = new Job("bad").source(sources.generator({ count: 1 }));
  assert.throws(() => stream.keyBy((r) => r, { partitioned: "yes" }),
    /keyBy\(fn, options\): partitioned must be true or false, not "yes"/);
  assert.throws(() => stream.keyBy((r) => r, { partition: true }),
    /keyBy\(fn, options\): unknown option "partition"; the only one is partitioned/);
  assert.throws(() => stream.keyBy((r) => r, null), /options must be an object such as \{ partitioned: true \}/);
});

test("a key selector that uses an outside variable is refused, naming the keyed operator", () => {
  const field = "word";
  const job = new Job("bad-key");
  job
    .source(sources.generator({ count: 1 }))
    .keyBy((r) => r[field])
    .reduce((a) => a)
    .name("sum")
    .sink(sinks.discard());
  assert.throws(() => job.toSpec(), (e) => {
    assert.ok(e instanceof JobBuildError);
    assert.match(e.message, /operator 'sum' \(op2\) \(key selector\).*'field'/);
    return true;
  });
});

test("union merges streams into one operator with an input from each", () => {
  const job = new Job("merge");
  const a = job.source(sources.generator({ count: 2 }));
  const b = job.source(sources.generator({ count: 3 })).map((n) => n * 10);
  a.union(b).sink(sinks.collect());
  const spec = job.toSpec();
  assert.equal(spec.operators[3].kind, "union");
  assert.deepEqual(
    spec.edges.filter((e) => e.to === "op4").map((e) => e.from),
    ["op1", "op3"],
  );
  const other = new Job("other").source(sources.generator({ count: 1 }));
  assert.throws(() => a.union(other), /same job/);
});

test("rebalance() and broadcast() set the partitioning of the next edge only", () => {
  const job = new Job("spread");
  job
    .source(sources.generator({ count: 4 }))
    .rebalance()
    .map((n) => n + 1)
    .broadcast()
    .map((n) => n * 2)
    .sink(sinks.discard());
  assert.deepEqual(
    job.toSpec().edges.map((e) => e.partitioning),
    ["REBALANCE", "BROADCAST", "FORWARD"],
  );
});
