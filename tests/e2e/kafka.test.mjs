// Kafka end to end: a librdkafka mock cluster (sluice-kafka-mock serve) on 127.0.0.1; input
// produced and output read back with the real librdkafka client (sluice-kafka-mock produce /
// consume); jobs run with `sluice run` and on a `sluice cluster` of two workers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, SLUICE, makeProject, sluice, waitForStatus } from "./harness.mjs";

const MOCK = process.env.SLUICE_KAFKA_MOCK ?? join(REPO, "build/connectors/kafka/tools/sluice-kafka-mock");

const children = [];
const cleanups = [];
let mock;
let bootstrap;

function stopChild(child) {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill("SIGTERM");
  });
}

/** Starts a process and resolves once its standard output matches `ready`. */
function startUntil(command, args, ready, what) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${what} not ready within 20 s:\n${output}`)), 20000);
    const onData = (d) => {
      output += d;
      const match = output.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", (d) => (output += d));
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${output}`));
    });
  });
}

/** Runs a command with `input` on stdin; resolves to { code, stdout, stderr }. */
function runWithInput(command, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not end within 60 s\n${stderr}`));
    }, 60000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

async function produce(topic, messages) {
  const lines = messages.map((m) => JSON.stringify(m)).join("\n") + "\n";
  const result = await runWithInput(MOCK, ["produce", "--bootstrap", bootstrap, "--topic", topic, "--json"], lines);
  assert.equal(result.code, 0, result.stderr);
}

async function consume(topic) {
  const result = await runWithInput(MOCK, ["consume", "--bootstrap", bootstrap, "--topic", topic], "");
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
}

async function mockCommand(command) {
  mock.child.stdin.write(command + "\n");
  const deadline = Date.now() + 10000;
  while (!mock.output().includes(`brokers ${command}`) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(mock.output().includes(`brokers ${command}`), mock.output());
}

before(async () => {
  mock = await startUntil(
    MOCK,
    ["serve", "--topic", "t-orders:3", "--topic", "t-totals:3", "--topic", "orders:3", "--topic", "big-orders:3", "--topic", "raw:2", "--topic", "copy:2",
     "--topic", "wide:4", "--topic", "wide-out:2", "--topic", "late:2", "--topic", "late-out:1",
     "--topic", "clicks-ts:2", "--topic", "outage:1"],
    /bootstrap (\S+)\n/,
    "the mock Kafka cluster",
  );
  bootstrap = mock.match[1];
});

after(async () => {
  await Promise.all(children.map(stopChild));
  for (const cleanup of cleanups) cleanup();
});

// Orders keyed by customer; the job keeps the big ones and writes them keyed by customer.
function orders(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const order = { id: i, customer: `c${i % 7}`, amount: (i * 37) % 200 };
    out.push({ key: order.customer, value: JSON.stringify(order), partition: i % 3 });
  }
  return out;
}

const TRANSFORM_JOB = (brokers, options = "") => `
import { Job, sources, sinks } from "@sluice/sdk";
interface Order { id: number; customer: string; amount: number }
const job = new Job("kafka-transform", { params: { min: 100 }${options} });
job
  .source(sources.kafka<Order>({ brokers: "${brokers}", topics: ["t-orders"], format: "json", bounded: true }))
  .filter((o: Order, params) => o.amount >= params.min)
  .map((o: Order) => ({ id: o.id, customer: o.customer, cents: o.amount * 100 }))
  .sink(sinks.kafka({
    brokers: "${brokers}",
    topic: "t-totals",
    key: (r: { customer: string }) => r.customer,
    value: (r: { id: number; cents: number }) => r.id + ":" + r.cents,
  }), { name: "to-totals" });
export default job;
`;

function expectedTotals(input) {
  return input
    .map((m) => JSON.parse(m.value))
    .filter((o) => o.amount >= 100)
    .map((o) => ({ key: o.customer, value: `${o.id}:${o.amount * 100}` }));
}

const byKeyValue = (a, b) => (a.key + a.value < b.key + b.value ? -1 : a.key + a.value > b.key + b.value ? 1 : 0);

test("sluice run: Kafka -> filter/map -> Kafka writes exactly the expected messages, keyed", async () => {
  const input = orders(600);
  await produce("t-orders", input);
  const project = makeProject({ "job.ts": TRANSFORM_JOB(bootstrap) });
  cleanups.push(project.cleanup);
  const run = await sluice(["run", "job.ts"], { cwd: project.dir, timeoutMs: 120000 });
  assert.equal(run.code, 0, run.stderr);

  const output = await consume("t-totals");
  const got = output.map((m) => ({ key: m.key, value: m.value }));
  assert.deepEqual([...got].sort(byKeyValue), expectedTotals(input).sort(byKeyValue));
  // Keyed by customer: each customer's messages are in one partition, in the input's order.
  const partitionOf = new Map();
  for (const m of output) {
    assert.equal(partitionOf.get(m.key) ?? m.partition, m.partition, `customer ${m.key}`);
    partitionOf.set(m.key, m.partition);
  }
  assert.ok(new Set(partitionOf.values()).size > 1);
});

test("format bytes: keys, binary values, headers and timestamps come through; tombstones too", async () => {
  const input = [];
  for (let i = 0; i < 50; i++) {
    input.push({
      key: `k${i}`,
      value: i % 5 === 0 ? { base64: Buffer.from([0xff, i, 0x00]).toString("base64") } : `v${i}`,
      partition: i % 2,
      timestamp: 1700000000000 + i,
      headers: [{ key: "n", value: String(i) }],
    });
  }
  input.push({ key: "gone", value: null, partition: 0, timestamp: 1700000000999 });
  await produce("raw", input);
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, type KafkaRecord } from "@sluice/sdk";
const job = new Job("kafka-bytes");
job
  .source(sources.kafka({ brokers: "${bootstrap}", topic: "raw", format: "bytes", bounded: true }))
  .map((m: KafkaRecord) => ({ ...m, h: m.headers.map((h) => h.key + "=" + h.value).join(",") }))
  .sink(sinks.kafka({
    brokers: "${bootstrap}",
    topic: "copy",
    key: (m: KafkaRecord) => m.key,
    value: (m: KafkaRecord & { h: string }) => (m.value === null ? null : typeof m.value === "string" ? m.value + "|" + m.h + "|" + m.timestamp : m.value),
    partition: (m: KafkaRecord) => m.partition,
  }));
export default job;
`,
  });
  cleanups.push(project.cleanup);
  const run = await sluice(["run", "job.ts"], { cwd: project.dir, timeoutMs: 120000 });
  assert.equal(run.code, 0, run.stderr);
  const output = await consume("copy");
  const expected = input.map((m) => ({
    key: m.key,
    partition: m.partition,
    value:
      m.value === null
        ? null
        : typeof m.value === "string"
          ? `${m.value}|n=${m.headers[0].value}|${m.timestamp}`
          : m.value,
  }));
  const got = output.map((m) => ({ key: m.key, partition: m.partition, value: m.value }));
  const order = (a, b) => a.partition - b.partition || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  assert.deepEqual([...got].sort(order), [...expected].sort(order));
});

async function startSluiceCluster() {
  const started = await startUntil(
    SLUICE,
    ["cluster", "--workers", "2", "--listen", "127.0.0.1:0", "--slots", "2"],
    /cluster ready/,
    "sluice cluster",
  );
  return started.output().match(/coordinator listening on (127\.0\.0\.1:\d+)/)[1];
}

test("a sluice cluster at parallelism 2 splits the partitions over the source's subtasks and survives a broker outage", async () => {
  const address = await startSluiceCluster();
  const input = [];
  for (let i = 0; i < 2000; i++) input.push({ value: JSON.stringify({ n: i }), partition: i % 4 });
  await produce("wide", input);

  await mockCommand("down");
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("kafka-wide", { parallelism: 2 });
job
  .source(sources.kafka<{ n: number }>({ brokers: "${bootstrap}", topic: "wide", format: "json", bounded: true }))
  .map((r: { n: number }) => ({ n: r.n, square: r.n * r.n }))
  .sink(sinks.kafka({ brokers: "${bootstrap}", topic: "wide-out", key: (r: { n: number }) => String(r.n) }));
export default job;
`,
  });
  cleanups.push(project.cleanup);
  const submitted = await sluice(["submit", "job.ts", "--coordinator", address], { cwd: project.dir });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();

  // While the brokers are down the job runs, and sluice status says why it makes no progress.
  const down = await waitForStatus(id, address, (text) => /kafka 127\.0\.0\.1:\d+.*retrying/.test(text));
  assert.match(down, /state:\s+running/);
  assert.match(down, /operator 'source\.kafka#1' \(op1\): kafka /);
  await mockCommand("up");

  const done = await waitForStatus(id, address, undefined, 120000);
  assert.match(done, /state:\s+finished/, done);
  assert.doesNotMatch(done, /retrying/);
  // Both source subtasks read records (two partitions each).
  const sourceTasks = [...done.matchAll(/^\s+\S+\s+finished\s+\S+\s+in (\d+)\s+out \d+\s+source\.kafka#1 /gm)];
  assert.equal(sourceTasks.length, 2, done);
  assert.deepEqual(sourceTasks.map((m) => Number(m[1])), [1000, 1000]);

  const output = await consume("wide-out");
  const got = output.map((m) => JSON.parse(m.value)).sort((a, b) => a.n - b.n);
  assert.deepEqual(got, input.map((_, n) => ({ n, square: n * n })));
  for (const m of output) assert.equal(m.key, String(JSON.parse(m.value).n));
});

test("errors name the operator: a bad config at submit, a throwing sink function at run time", async () => {
  // The coordinator checks the config (a spec built without the SDK's own checks).
  const bad = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("bad-kafka");
const source = { ...sources.kafka({ brokers: "${bootstrap}", topic: "late" }),
                 build: () => ({ config: { brokers: "${bootstrap}", topics: ["late"], startFrom: "yesterday" }, functions: {} }) };
job.source(source).sink(sinks.kafka({ brokers: "${bootstrap}", topic: "late-out" }));
export default job;
`,
  });
  cleanups.push(bad.cleanup);
  const refused = await sluice(["run", "job.ts"], { cwd: bad.dir });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /operator "source\.kafka#1" \(op1\): config field "startFrom" must be "earliest", "latest" or/);

  await produce("late", [{ value: JSON.stringify({ x: 1 }) }, { value: JSON.stringify({ y: 2 }) }]);
  const throwing = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("throwing-sink");
job
  .source(sources.kafka<{ x?: number }>({ brokers: "${bootstrap}", topic: "late", format: "json", bounded: true }))
  .sink(sinks.kafka({
    brokers: "${bootstrap}",
    topic: "late-out",
    key: (r: { x?: number }) => {
      if (r.x === undefined) throw new Error("no x in " + JSON.stringify(r));
      return String(r.x);
    },
  }), { name: "keyed-out" });
export default job;
`,
  });
  cleanups.push(throwing.cleanup);
  const failed = await sluice(["run", "job.ts"], { cwd: throwing.dir, timeoutMs: 120000 });
  assert.notEqual(failed.code, 0);
  assert.match(failed.stderr, /operator 'keyed-out' \(op2\): Error: no x in \{"y":2\} \(line 2 of the function\)/);
});

test("watermarks: a tumbling window over the messages' Kafka timestamps, per-partition watermarks", async () => {
  // The values carry no time: the windows come from the messages' timestamps. Partition 1 runs
  // 25 s ahead of partition 0; the watermark follows partition 0, so none of its clicks is late.
  const base = 1700000000000;
  const input = [];
  for (let i = 0; i < 40; i++) {
    const partition = i % 2;
    const timestamp = base + partition * 25000 + Math.floor(i / 2) * 700;
    input.push({ partition, timestamp, value: JSON.stringify({ page: `/p${i % 3}` }) });
  }
  await produce("clicks-ts", input);
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks, windows } from "@sluice/sdk";
const job = new Job("kafka-windows", { parallelism: 2 });
job
  .source(sources.kafka<{ page: string }>({ brokers: "${bootstrap}", topic: "clicks-ts", format: "json", bounded: true,
                                            watermarks: { maxOutOfOrderness: "1s" } }))
  .keyBy((c: { page: string }) => c.page)
  .window(windows.tumbling("10s"))
  .count()
  .sink(sinks.stdout());
export default job;
`,
  });
  cleanups.push(project.cleanup);
  const run = await sluice(["run", "job.ts"], { cwd: project.dir, timeoutMs: 120000 });
  assert.equal(run.code, 0, run.stderr);
  const expected = new Map();
  for (const m of input) {
    const start = Math.floor(m.timestamp / 10000) * 10000;
    const key = `${JSON.parse(m.value).page}@${start}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
  }
  const want = [...expected].map(([key, value]) => {
    const [page, start] = key.split("@");
    return { key: page, window: { start: Number(start), end: Number(start) + 10000 }, value };
  });
  const got = run.stdout.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l));
  const order = (a, b) => a.window.start - b.window.start || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  assert.deepEqual(got.sort(order), want.sort(order));
  assert.ok(new Set(want.map((w) => w.window.start)).size >= 4, "several windows");

  // The coordinator checks the watermarks config (a spec built without the SDK's own checks).
  const bad = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("bad-watermarks");
const source = { ...sources.kafka({ brokers: "${bootstrap}", topic: "clicks-ts" }),
                 build: () => ({ config: { brokers: "${bootstrap}", topics: ["clicks-ts"], watermarks: { idleTimeout: 0 } }, functions: {} }) };
job.source(source).name("clicks").sink(sinks.stdout());
export default job;
`,
  });
  cleanups.push(bad.cleanup);
  const refused = await sluice(["run", "job.ts"], { cwd: bad.dir });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /operator "clicks" \(op1\): config field "watermarks\.idleTimeout" must be an integer number of milliseconds > 0, got 0/);
});

test("the kafka-transform example writes the big orders, with tax, keyed by customer", async () => {
  const example = join(REPO, "examples/kafka-transform");
  const lines = readFileSync(join(example, "orders.jsonl"), "utf8").split("\n").filter((l) => l !== "");
  await produce("orders", lines.map((value) => ({ value })));
  const run = await sluice(["run", "job.ts"], { cwd: example, env: { KAFKA_BROKERS: bootstrap }, timeoutMs: 120000 });
  assert.equal(run.code, 0, run.stderr);
  const output = await consume("big-orders");
  const expected = lines
    .map((l) => JSON.parse(l))
    .filter((o) => o.amount >= 100)
    .map((o) => ({ key: o.customer, order: { ...o, tax: Math.round(o.amount * 0.2 * 100) / 100 } }));
  const got = output.map((m) => ({ key: m.key, order: JSON.parse(m.value) }));
  const byId = (a, b) => a.order.id - b.order.id;
  assert.deepEqual([...got].sort(byId), [...expected].sort(byId));
});

test("a Kafka source whose brokers stay away longer than its retry budget fails the run, naming them", async () => {
  await produce("outage", [{ value: JSON.stringify({ n: 1 }) }]);
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("kafka-outage");
job.source(sources.kafka({ brokers: "${bootstrap}", topic: "outage", format: "json", retry: { timeout: "3s" } }))
  .name("in")
  .sink(sinks.stdout());
export default job;
`,
  });
  cleanups.push(project.cleanup);
  const child = spawn(SLUICE, ["run", "job.ts"], { cwd: project.dir, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    // The unbounded source has read the record: it is connected and reading.
    const deadline = Date.now() + 60000;
    while (!stdout.includes('{"n":1}') && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(stdout.includes('{"n":1}'), `no record read:\n${stdout}\n${stderr}`);
    await mockCommand("down");
    const downAt = Date.now();
    let timer;
    const code = await Promise.race([exited, new Promise((r) => (timer = setTimeout(() => r("still running"), 45000)))]);
    clearTimeout(timer);
    assert.equal(code, 1, stderr);
    assert.ok(Date.now() - downAt >= 3000, "failed before its budget was spent");
    assert.match(
      stderr,
      /operator 'in' \(op1\): kafka 127\.0\.0\.1:\d+(,[^:]+:\d+)*: unreachable while reading: gave up after \d+ retr(y|ies) in \d+ ms \(retry budget: 3000 ms; .*\); last error: /,
    );
  } finally {
    await mockCommand("up");
  }
});
