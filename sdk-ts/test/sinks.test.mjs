// Connector sinks (Redis, MySQL): their options become the operator's config, their function
// is shipped like any other, and bad options are refused when the sink is made.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Job, JobBuildError, sinks, sources } from "../dist/index.js";

function sinkOperator(sink) {
  const job = new Job("j");
  job.source(sources.generator({ count: 3 })).map((n) => ({ key: `k${n}`, n })).sink(sink, { name: "store" });
  return job.toSpec().operators[2];
}

test("sinks.redis: options become the config and the command function is shipped as fn", () => {
  const op = sinkOperator(
    sinks.redis({
      address: "127.0.0.1:6380",
      command: (r) => ["SET", r.key, r.n],
      database: 2,
      username: "app",
      password: "",
      pipeline: 100,
      timeout: "2s",
    }),
  );
  assert.equal(op.kind, "sink.redis");
  assert.equal(op.name, "store");
  assert.deepEqual(JSON.parse(op.configJson), {
    address: "127.0.0.1:6380",
    database: 2,
    username: "app",
    password: "",
    pipeline: 100,
    timeoutMs: 2000,
  });
  assert.deepEqual(op.functions, { fn: '(r) => ["SET", r.key, r.n]' });
});

test("sinks.redis: tls is passed on for the coordinator to accept or refuse", () => {
  const op = sinkOperator(sinks.redis({ address: "h:1", command: () => null, tls: true }));
  assert.equal(JSON.parse(op.configJson).tls, true);
});

test("sinks.redis: bad options are refused naming the option", () => {
  const command = () => null;
  assert.throws(() => sinks.redis({ command }), /sinks.redis: address must be a non-empty string, got undefined/);
  assert.throws(() => sinks.redis({ address: "h:1" }), /sinks.redis: `command` must be a function/);
  assert.throws(() => sinks.redis({ address: "h:1", command, database: -1 }), /sinks.redis: database must be an integer >= 0/);
  assert.throws(() => sinks.redis({ address: "h:1", command, pipeline: 0 }), /sinks.redis: pipeline must be an integer >= 1/);
  assert.throws(() => sinks.redis({ address: "h:1", command, tls: "yes" }), /sinks.redis: tls must be true or false/);
  assert.throws(() => sinks.redis({ address: "h:1", command, timeout: 0 }), /sinks.redis: timeout must be at least 1 ms/);
  assert.throws(() => sinks.redis({ address: "h:1", command, timeout: "soon" }), /sinks.redis: timeout: "soon" is not a valid duration/);
});

test("sinks.mysql: options become the config and the params function is shipped as fn", () => {
  const statement = "INSERT INTO t (k, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n)";
  const op = sinkOperator(
    sinks.mysql({ host: "db", port: 3307, user: "app", password: "pw", database: "shop", statement, params: (r) => [r.key, r.n] }),
  );
  assert.equal(op.kind, "sink.mysql");
  assert.deepEqual(JSON.parse(op.configJson), { host: "db", port: 3307, user: "app", password: "pw", database: "shop", statement });
  assert.deepEqual(op.functions, { fn: "(r) => [r.key, r.n]" });
});

test("sinks.mysql: the guarantee and commit table go into the config", () => {
  const params = (r) => [r];
  const base = { host: "h", user: "u", database: "d", statement: "INSERT INTO t VALUES (?)", params };
  const op = sinkOperator(sinks.mysql({ ...base, guarantee: "exactly-once", commitTable: "ops.commits" }));
  assert.equal(JSON.parse(op.configJson).guarantee, "exactly-once");
  assert.equal(JSON.parse(op.configJson).commitTable, "ops.commits");
  assert.equal(JSON.parse(sinkOperator(sinks.mysql(base)).configJson).guarantee, undefined);
});

test("sinks.mysql and sinks.redis: the password may come from the worker's environment or a file, one way only", () => {
  const base = { host: "h", user: "u", database: "d", statement: "INSERT INTO t VALUES (?)", params: (r) => [r] };
  assert.deepEqual(JSON.parse(sinkOperator(sinks.mysql({ ...base, passwordEnv: "DB_PW" })).configJson).passwordEnv, "DB_PW");
  assert.equal(JSON.parse(sinkOperator(sinks.mysql({ ...base, passwordFile: "/run/pw" })).configJson).passwordFile, "/run/pw");
  assert.throws(() => sinks.mysql({ ...base, password: "x", passwordEnv: "DB_PW" }),
    /sinks.mysql: give one of password, passwordEnv and passwordFile, not password and passwordEnv/);
  assert.throws(() => sinks.mysql({ ...base, passwordEnv: "" }), /sinks.mysql: passwordEnv must be a non-empty string/);
  const redis = { address: "r:6379", command: () => null };
  const config = JSON.parse(sinkOperator(sinks.redis({ ...redis, username: "u", passwordFile: "/run/pw" })).configJson);
  assert.deepEqual([config.username, config.passwordFile, config.password], ["u", "/run/pw", undefined]);
  assert.throws(() => sinks.redis({ ...redis, passwordEnv: "A", passwordFile: "/b" }), /sinks.redis: give one of/);
});

test("sinks.mysql: bad options are refused naming the option", () => {
  const base = { host: "h", user: "u", database: "d", statement: "INSERT INTO t VALUES (?)", params: (r) => [r] };
  assert.throws(() => sinks.mysql({ ...base, host: "" }), /sinks.mysql: host must be a non-empty string/);
  assert.throws(() => sinks.mysql({ ...base, port: 0 }), /sinks.mysql: port must be an integer >= 1/);
  assert.throws(() => sinks.mysql({ ...base, port: 70000 }), /sinks.mysql: port must be at most 65535/);
  assert.throws(() => sinks.mysql({ ...base, user: undefined }), /sinks.mysql: user must be a non-empty string/);
  assert.throws(() => sinks.mysql({ ...base, database: 5 }), /sinks.mysql: database must be a non-empty string, got 5/);
  assert.throws(() => sinks.mysql({ ...base, statement: "" }), /sinks.mysql: statement must be a non-empty string/);
  assert.throws(() => sinks.mysql({ ...base, params: [1] }), /sinks.mysql: `params` must be a function/);
  assert.throws(
    () => sinks.mysql({ ...base, guarantee: "exactly_once" }),
    /sinks.mysql: guarantee must be "at-least-once" or "exactly-once", got "exactly_once"/,
  );
  assert.throws(() => sinks.mysql({ ...base, commitTable: "" }), /sinks.mysql: commitTable must be a non-empty string/);
});

test("a sink function that is not self-contained is refused naming the sink operator", () => {
  const prefix = "user:";
  const job = new Job("j");
  job.source(sources.generator({ count: 3 })).sink(sinks.redis({ address: "h:1", command: (n) => ["SET", prefix + n, n] }));
  assert.throws(
    () => job.toSpec(),
    (e) => e instanceof JobBuildError && /operator 'sink.redis#2' \(op2\): the function refers to 'prefix'/.test(e.message),
  );
});

test("sinks.file: overwrite goes into the config only when true; other values are refused", () => {
  assert.deepEqual(Object.keys(JSON.parse(sinkOperator(sinks.file({ path: "out.jsonl" })).configJson)), ["path"]);
  const op = sinkOperator(sinks.file({ path: "out.jsonl", overwrite: true }));
  assert.equal(JSON.parse(op.configJson).overwrite, true);
  assert.throws(() => sinks.file({ path: "o", overwrite: "yes" }), /sinks.file: overwrite must be true or false, not "yes"/);
});

test("sources.file: maxLineBytes goes into the config; it must be a positive integer", () => {
  const job = new Job("j");
  job.source(sources.file({ path: "in.txt", maxLineBytes: 4096 })).sink(sinks.discard());
  assert.equal(JSON.parse(job.toSpec().operators[0].configJson).maxLineBytes, 4096);
  assert.throws(() => sources.file({ path: "in.txt", maxLineBytes: 0 }), /maxLineBytes must be a positive integer, not 0/);
});

test("an async function is refused when the job is built, naming the operator", () => {
  const job = new Job("j");
  job.source(sources.generator({ count: 3 })).map(async (x) => ({ d: x * 2 })).name("double").sink(sinks.stdout());
  assert.throws(() => job.toSpec(), (e) => e instanceof JobBuildError && /operator 'double' \(op2\): an async function returns a Promise/.test(e.message));
});
