// Bounded retries (issue 13, finding 8): connectors retry an unreachable endpoint within their
// budget (`retry: { attempts, timeout }`), then fail the task naming the endpoint and the last
// error, so `sluice run` ends instead of waiting for ever; cancelling a job whose connector is
// retrying ends promptly and says so.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { SLUICE, makeProject, sluice } from "./harness.mjs";
import { freePort, startRedis } from "./servers.mjs";

let redis;
const cleanups = [];

before(async () => {
  redis = await startRedis();
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await redis?.destroy();
});

function project(files) {
  const p = makeProject(files);
  cleanups.push(p.cleanup);
  return p;
}

const redisJob = (address, retry) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-retry");
job.source(sources.generator({ count: 20 }))
  .sink(sinks.redis({ address: "${address}", command: (n: number) => ["SET", "retry:" + n, String(n)], retry: ${retry} }), { name: "out" });
export default job;
`;

/** Starts `sluice run job.ts` in `dir`; `waitFor(re)` resolves once stderr matches. */
function startRun(dir) {
  const child = spawn(SLUICE, ["run", "job.ts"], { cwd: dir });
  let stderr = "";
  const waiters = [];
  child.stderr.on("data", (d) => {
    stderr += d;
    for (const w of waiters) if (w.re.test(stderr)) w.resolve();
  });
  const exited = new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
  cleanups.push(async () => child.kill("SIGKILL"));
  return {
    child,
    exited,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        if (re.test(stderr)) return resolve();
        waiters.push({ re, resolve });
        exited.then(() => reject(new Error(`sluice run ended before ${re}:\n${stderr}`)));
      }),
  };
}

test("a Redis sink whose server is down gives up after its retry attempts, naming the endpoint", async () => {
  await redis.stop();
  try {
    const p = project({ "job.ts": redisJob(redis.address, "{ attempts: 3 }") });
    const started = Date.now();
    const result = await sluice(["run", "job.ts"], { cwd: p.dir, timeoutMs: 30000 });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`error: job 'redis-retry' failed: .*operator 'out' \\(op\\d\\): redis ${redis.address}: gave up after 3 retries in \\d+ ms \\(retry budget: 3 retries or 60000 ms; set retryAttempts / retryTimeoutMs\\); last error: .*(refused|unreachable)`),
    );
    // 100 + 200 + 400 ms of backoff, not a minute.
    assert.ok(Date.now() - started < 15000);
  } finally {
    await redis.start();
  }
});

test("a Redis sink that gets its server back within the budget delivers everything", async () => {
  await redis.stop();
  const p = project({ "job.ts": redisJob(redis.address, '{ timeout: "30s" }') });
  const run = startRun(p.dir);
  await run.waitFor(/redis .*retrying in/);
  await redis.start();
  const { code, stderr } = await run.exited;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /its connectors reach their endpoints again/);
  assert.equal(await redis.cli("GET", "retry:19"), "19");
});

test("cancelling a job whose connector is retrying ends promptly and says so", async () => {
  const port = await freePort();  // nothing listens there
  const p = project({ "job.ts": redisJob(`127.0.0.1:${port}`, "{ timeout: 0 }") });
  const run = startRun(p.dir);
  await run.waitFor(/retrying in/);
  const before = Date.now();
  run.child.kill("SIGINT");
  const { code, stderr } = await run.exited;
  assert.equal(code, 130, stderr);
  assert.ok(Date.now() - before < 10000, "the retry wait was cut short");
  assert.match(stderr, /canceled while its connectors were still retrying/);
  assert.doesNotMatch(stderr, /reach their endpoints again/);
  assert.match(stderr, /job \S+ was canceled/);
});

test("cancelling a job whose connector is blocked on a server that stopped answering ends promptly", async () => {
  const p = project({ "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-busy");
job.source(sources.generator({ rate: 2000 }))
  .sink(sinks.redis({ address: "${redis.address}", command: (n: number) => ["SET", "busy:" + n, String(n)] }), { name: "out" });
export default job;
` });
  await redis.cli("FLUSHALL");
  const run = startRun(p.dir);
  try {
    // Writing; then the server hangs (SIGSTOP): the connection stays open, nothing answers.
    for (let i = 0; i < 200 && Number(await redis.cli("DBSIZE")) < 100; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok(Number(await redis.cli("DBSIZE")) >= 100, "the job was writing");
    redis.signal("SIGSTOP");
    await new Promise((r) => setTimeout(r, 1500));  // the sink is now waiting on its socket
    const before = Date.now();
    run.child.kill("SIGINT");
    const { code, stderr } = await run.exited;
    assert.equal(code, 130, stderr);
    const took = Date.now() - before;
    // sluice run gives up on a task after 10 s; the sink must stop well before that, by itself.
    assert.ok(took < 5000, `cancel took ${took} ms: the blocked write was not cut short`);
    assert.doesNotMatch(stderr, /did not stop within/);
    assert.match(stderr, /job \S+ was canceled/);
    console.log(`cancel of a job blocked on a stopped Redis: ${took} ms`);
  } finally {
    redis.signal("SIGCONT");
  }
});

test("a MySQL sink at an unreachable server gives up after its retry timeout", async () => {
  const port = await freePort();
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("mysql-retry");
job.source(sources.generator({ count: 5 }))
  .sink(sinks.mysql({ host: "127.0.0.1", port: ${port}, user: "u", password: "p", database: "d",
    statement: "INSERT INTO t (n) VALUES (?)", params: (n: number) => [n], retry: { timeout: "2s" } }), { name: "rows" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, timeoutMs: 30000 });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`operator 'rows' \\(op\\d\\): mysql 127\\.0\\.0\\.1:${port}: gave up after \\d+ retries in \\d+ ms \\(retry budget: 2000 ms; .*\\); last error: `),
  );
});

test("a bounded Kafka source whose brokers never answer fails instead of waiting for ever", async () => {
  const port = await freePort();
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("kafka-never");
job.source(sources.kafka({ brokers: "127.0.0.1:${port}", topic: "t", bounded: true, retry: { timeout: "3s" } }))
  .name("in")
  .sink(sinks.discard());
export default job;
`,
  });
  const started = Date.now();
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, timeoutMs: 60000 });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    result.stderr,
    new RegExp(`operator 'in' \\(op1\\): kafka 127\\.0\\.0\\.1:${port}: gave up after \\d+ retries in \\d+ ms \\(retry budget: 3000 ms; .*\\); last error: looking up topic 't'`),
  );
  assert.ok(Date.now() - started < 30000);
});

test("an at-least-once Kafka sink whose brokers never answer fails after its retry timeout", async () => {
  const port = await freePort();
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("kafka-sink-never");
job.source(sources.generator({ count: 5 }))
  .sink(sinks.kafka({ brokers: "127.0.0.1:${port}", topic: "t", retry: { timeout: "2s" } }), { name: "out" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, timeoutMs: 60000 });
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /operator 'out' \(op\d\): kafka 127\.0\.0\.1:\d+: a message to topic 't' was not delivered: .*timed out \(gave up after the retry budget of 2000 ms/);
});

test("retry options are checked when the job is built", async () => {
  const p = project({ "job.ts": redisJob("127.0.0.1:6379", "{ attempts: -1 }") });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /sinks\.redis: retry\.attempts must be an integer from 0 to 1000000000, got -1/);
});
