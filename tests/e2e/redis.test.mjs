// The Redis sink against a real redis-server: jobs run with `sluice run` and on a
// `sluice cluster`, and what arrived is read back with redis-cli. One test kills Redis mid-job
// and starts it again: the job recovers by itself, `sluice status` shows the problem meanwhile,
// and every key ends with its right final value.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO, SLUICE, makeProject, sluice } from "./harness.mjs";
import { poll, startRedis } from "./servers.mjs";

const PASSWORD = "s3cret";
let redis;
const cleanups = [];

before(async () => {
  redis = await startRedis({ password: PASSWORD });
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

const lastLine = (text) => text.trim().split("\n").pop();

test("sluice run: a keyed count lands in Redis with SET, HSET, EXPIRE and XADD, in the chosen database", async () => {
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-count", { parallelism: 2, params: { prefix: "count:" } });
job.source(sources.generator({ count: 3000 }))
  .map((n: number) => ({ key: "k" + (n % 30), count: 1 }))
  .keyBy((r) => r.key)
  .reduce((a, b) => ({ key: a.key, count: a.count + b.count }))
  .sink(sinks.redis({
    address: process.env.REDIS_ADDRESS!,
    password: process.env.REDIS_PASSWORD,
    database: 3,
    pipeline: 64,
    command: (r, params) => [
      ["SET", params.prefix + r.key, r.count],
      ["HSET", "counts", r.key, r.count],
      ["EXPIRE", "counts", 3600],
      ...(r.count === 100 ? [["XADD", "done", "*", "key", r.key] as const] : []),
    ],
  }), { name: "store" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], {
    cwd: p.dir,
    env: { REDIS_ADDRESS: redis.address, REDIS_PASSWORD: PASSWORD },
  });
  assert.equal(result.code, 0, result.stderr);
  const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
  const values = (await redis.cli("-n", "3", "MGET", ...keys.map((k) => `count:${k}`))).split("\n");
  assert.deepEqual(values, keys.map(() => "100"));
  const hash = (await redis.cli("-n", "3", "HGETALL", "counts")).split("\n");
  assert.equal(hash.length, 60);
  for (let i = 0; i < hash.length; i += 2) assert.equal(hash[i + 1], "100", `counts.${hash[i]}`);
  const ttl = Number(await redis.cli("-n", "3", "TTL", "counts"));
  assert.ok(ttl > 3500 && ttl <= 3600, `TTL ${ttl}`);
  assert.equal(await redis.cli("-n", "3", "XLEN", "done"), "30");
  // Nothing went to database 0.
  assert.equal(await redis.cli("EXISTS", "count:k0"), "0");
});

test("the redis-count example counts every page view", async () => {
  // The example's own database would collide with the first test's keys: empty it first.
  await redis.cli("-n", "0", "FLUSHDB");
  const result = await sluice(
    ["run", "job.ts", "--param", `redis=${redis.address}`, "--param", `password=${PASSWORD}`, "--param", "views=5000"],
    { cwd: join(REPO, "examples/redis-count") },
  );
  assert.equal(result.code, 0, result.stderr);
  const pages = Array.from({ length: 50 }, (_, i) => `/page/${i}`);
  assert.deepEqual((await redis.cli("MGET", ...pages.map((p) => `views:${p}`))).split("\n"), pages.map(() => "100"));
  assert.equal(await redis.cli("ZCARD", "top-pages"), "50");
  assert.equal(await redis.cli("ZSCORE", "top-pages", "/page/7"), "100");
});

test("a command the server refuses fails the job with the server's error, the operator and the command", async () => {
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-refused");
job.source(sources.generator({ count: 5 }))
  .sink(sinks.redis({
    address: process.env.REDIS_ADDRESS!,
    password: process.env.REDIS_PASSWORD,
    command: (n) => (n === 3 ? ["INCRBY", "refused", "three"] : ["SET", "fine:" + n, n]),
  }), { name: "store" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], {
    cwd: p.dir,
    env: { REDIS_ADDRESS: redis.address, REDIS_PASSWORD: PASSWORD },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    lastLine(result.stderr),
    new RegExp(`job 'redis-refused' failed: .*operator 'store' \\(op2\\): redis 127\\.0\\.0\\.1:${redis.port} ` +
      `refused the command INCRBY "refused" "three": ERR value is not an integer or out of range`),
  );
});

test("a wrong password fails the job at once, naming the operator and the endpoint", async () => {
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-auth");
job.source(sources.generator({ count: 5 }))
  .sink(sinks.redis({ address: process.env.REDIS_ADDRESS!, password: "wrong", command: (n) => ["SET", "n", n] }), { name: "store" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, env: { REDIS_ADDRESS: redis.address } });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    lastLine(result.stderr),
    new RegExp(`operator 'store' \\(op2\\): redis 127\\.0\\.0\\.1:${redis.port}: authentication failed: WRONGPASS`),
  );
});

test("bad config is refused at submit with every problem naming the operator", async () => {
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-bad-config");
job.source(sources.generator({ count: 5 }))
  .sink(sinks.redis({ address: "localhost:port", tls: true, command: (n) => ["SET", "n", n] }), { name: "store" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /operator "store" \(op2\): config field "address" must be host:port, as in "127\.0\.0\.1:6379" \(the port must be a number from 1 to 65535, not "port"\), got "localhost:port"/);
  assert.match(result.stderr, /operator "store" \(op2\): config field "tls" cannot be true: TLS is not available: this build uses Debian 12's hiredis 0\.14/);
});

test("a function returning something that is not a command fails the job naming the sink operator", async () => {
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-bad-record");
job.source(sources.generator({ count: 5 }))
  .sink(sinks.redis({ address: process.env.REDIS_ADDRESS!, password: process.env.REDIS_PASSWORD,
                      command: ((n: number) => ({ set: n })) as any }), { name: "store" });
export default job;
`,
  });
  const result = await sluice(["run", "job.ts"], {
    cwd: p.dir,
    env: { REDIS_ADDRESS: redis.address, REDIS_PASSWORD: PASSWORD },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.match(lastLine(result.stderr), /operator 'store' \(op2\): the function must return a command .*got an object; the function returned \{"set":0\}/);
});

test("sluice run with Redis down at the start: says so on stderr, waits, and finishes once Redis is up", async () => {
  const late = await startRedis();
  cleanups.push(() => late.destroy());
  await late.stop();
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-late");
job.source(sources.generator({ count: 100 }))
  .sink(sinks.redis({ address: "${late.address}", command: (n) => ["SET", "late:" + n, n] }), { name: "store" });
export default job;
`,
  });
  const run = spawn(SLUICE, ["run", "job.ts"], { cwd: p.dir, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  run.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise((resolve) => run.once("exit", (code) => resolve(code)));
  cleanups.push(() => run.exitCode === null && run.kill("SIGKILL"));
  await poll("sluice run reporting the unreachable endpoint", async () => ({
    ok: new RegExp(`task \\S+: operator 'store' \\(op2\\): redis ${late.address.replaceAll(".", "\\.")}: unreachable \\(Connection refused\\); retrying in \\d+ ms`).test(stderr),
    stderr,
  }));
  await late.start();
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /its connectors reach their endpoints again/);
  assert.equal(await late.cli("DBSIZE"), "100");
  assert.equal(await late.cli("GET", "late:99"), "99");
});

test("sluice cluster: Redis killed mid-job and started again; status shows it, every key ends right", async (t) => {
  const cluster = spawn(SLUICE, ["cluster", "--workers", "2", "--listen", "127.0.0.1:0", "--slots", "4"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  cluster.stdout.on("data", (d) => (out += d));
  cluster.stderr.on("data", (d) => (out += d));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        if (cluster.exitCode !== null || cluster.signalCode !== null) return resolve();
        const timer = setTimeout(() => cluster.kill("SIGKILL"), 10000);
        cluster.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        cluster.kill("SIGTERM");
      }),
  );
  await poll("the cluster being ready", async () => ({ ok: /cluster ready/.test(out), out }));
  const coordinator = out.match(/coordinator listening on (127\.0\.0\.1:\d+)/)[1];

  // 8000 records at 1000/s over two subtasks: about 8 s, of which Redis is away for about 2.
  const p = project({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("redis-outage", { parallelism: 2 });
job.source(sources.generator({ count: 8000, rate: 1000 }))
  .map((n: number) => ({ key: "k" + (n % 40), count: 1 }))
  .keyBy((r) => r.key)
  .reduce((a, b) => ({ key: a.key, count: a.count + b.count }))
  .sink(sinks.redis({
    address: "${redis.address}",
    password: "${PASSWORD}",
    database: 5,
    timeout: "1s",
    command: (r) => ["SET", "outage:" + r.key, r.count],
  }), { name: "store" });
export default job;
`,
  });
  const submitted = await sluice(["submit", "job.ts", "--coordinator", coordinator], { cwd: p.dir });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  const status = () => sluice(["status", id, "--coordinator", coordinator]).then((r) => r.stdout);

  await poll("the first counts arriving", async () => {
    const n = Number(await redis.cli("-n", "5", "DBSIZE"));
    return { ok: n >= 40, n };
  });
  await redis.stop("SIGKILL");
  const down = await poll("sluice status showing the sink retrying", async () => {
    const text = await status();
    return {
      ok: new RegExp(`operator 'store' \\(op\\d+\\): redis 127\\.0\\.0\\.1:${redis.port}: .*retrying in \\d+ ms`).test(text),
      text,
    };
  });
  assert.match(down.text, /state:\s+running/);
  t.diagnostic(`while down:\n${down.text}`);
  await new Promise((r) => setTimeout(r, 1500));
  await redis.start();

  const final = await poll("the job finishing", async () => {
    const text = await status();
    return { ok: /state:\s+(finished|failed|canceled)/.test(text), text };
  }, 60000);
  assert.match(final.text, /state:\s+finished/, final.text);
  assert.doesNotMatch(final.text, /retrying/, "the problem is gone once Redis is back");
  const keys = Array.from({ length: 40 }, (_, i) => `outage:k${i}`);
  const values = (await redis.cli("-n", "5", "MGET", ...keys)).split("\n");
  assert.deepEqual(values, keys.map(() => "200"), "every key has its final count");
});
