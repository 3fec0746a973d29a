// Identity and secrets (issue 13, finding 3), against real coordinator and worker processes:
// the cluster token on every call (CLI, SDK, workers), a rogue grpc-js "worker" refused and
// never sent a task, a coordinator that stays on loopback without a token, TLS end to end with a
// self-signed certificate made by openssl, and passwords kept out of job records, `status`,
// `list` and logs, with the MySQL sink reading its password from the worker's environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO, makeProject, node, sluice, startCluster, startServer } from "./harness.mjs";
import { exec, poll, startMariaDb } from "./servers.mjs";

const require = createRequire(join(REPO, "sdk-ts/package.json"));
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const dir = mkdtempSync(join(tmpdir(), "sluice-auth-"));
const TOKEN = `tok-${randomBytes(12).toString("hex")}`;
const tokenFile = join(dir, "token");
const wrongTokenFile = join(dir, "wrong-token");
writeFileSync(tokenFile, `${TOKEN}\n`);
writeFileSync(wrongTokenFile, "not-the-cluster-token\n");
// No test here may pick up a token from the environment that ran it.
const NO_ENV_TOKEN = { SLUICE_AUTH_TOKEN: "" };

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

async function cluster(options) {
  const c = await startCluster({ ...options, env: { ...NO_ENV_TOKEN, ...options.env } });
  cleanups.push(c.stop);
  return c;
}

function project(files) {
  const p = makeProject(files);
  cleanups.push(p.cleanup);
  return p;
}

const cli = (args, options = {}) => sluice(args, { ...options, env: { ...NO_ENV_TOKEN, ...options.env } });

/** Polls `sluice status` (with `extra` flags) until the job ended; resolves to its output. */
async function waitEnded(id, address, extra) {
  let last;
  await poll(`job ${id} to end`, async () => {
    last = await cli(["status", id, "--coordinator", address, ...extra]);
    return { ok: /state:\s+(finished|failed|canceled)/.test(last.stdout), out: last.stdout + last.stderr };
  }, 60000, 100);
  return last.stdout;
}

// A keyed job: generator -> keyBy -> reduce at parallelism 2, so records cross between the tasks
// (and between workers when there are two).
const KEYED_JOB = `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("auth-keyed", { parallelism: 2 });
job.source(sources.generator({ count: 1000 }))
  .keyBy((n: number) => n % 10)
  .reduce((a: number, b: number) => a + b)
  .sink(sinks.collect());
export default job;
`;

// Submits KEYED_JOB through the SDK with `options` (JSON) and prints {state, results} or {error}.
const DRIVER = (options) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("auth-sdk", { parallelism: 2 });
job.source(sources.generator({ count: 1000 }))
  .keyBy((n: number) => n % 10)
  .reduce((a: number, b: number) => a + b)
  .sink(sinks.collect());
try {
  const handle = await job.submit({ coordinator: process.env.SLUICE_COORDINATOR, ...${JSON.stringify(options)} });
  const results = await handle.results();
  console.log(JSON.stringify({ state: (await handle.status()).state, results: results.length }));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).message }));
}
`;

async function runDriver(address, options) {
  const p = project({ "driver.ts": DRIVER(options) });
  const run = await node("driver.mjs", { cwd: p.dir, env: { ...NO_ENV_TOKEN, SLUICE_COORDINATOR: address } });
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout.trim().split("\n").pop());
}

/** The gRPC services of proto/, loaded as a client outside Sluice would. */
function loadProto() {
  const definition = protoLoader.loadSync(["sluice/cluster_service.proto", "sluice/worker_service.proto",
    "sluice/exchange_service.proto"], {
    includeDirs: [join(REPO, "proto")], keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).sluice.proto;
}

const unary = (client, method, request, metadata = new grpc.Metadata()) =>
  new Promise((resolve) => client[method](request, metadata, { deadline: Date.now() + 5000 },
    (error, response) => resolve({ error, response })));

const bearer = (token) => {
  const metadata = new grpc.Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return metadata;
};

test("with a cluster token, CLI calls without it or with a wrong one are refused and with it accepted", async () => {
  const c = await cluster({ workers: 1, coordinatorArgs: ["--auth-token-file", tokenFile],
    workerArgs: ["--auth-token-file", tokenFile] });

  const without = await cli(["list", "--coordinator", c.address]);
  assert.notEqual(without.code, 0, without.stdout);
  assert.match(without.stderr, /requires the cluster's auth token and the call carried none/);
  assert.match(without.stderr, /--auth-token-file or SLUICE_AUTH_TOKEN/);

  const wrong = await cli(["list", "--coordinator", c.address, "--auth-token-file", wrongTokenFile]);
  assert.notEqual(wrong.code, 0, wrong.stdout);
  assert.match(wrong.stderr, /does not accept the auth token/);
  const wrongEnv = await cli(["workers", "--coordinator", c.address], { env: { SLUICE_AUTH_TOKEN: "nope" } });
  assert.notEqual(wrongEnv.code, 0);
  assert.match(wrongEnv.stderr, /does not accept the auth token/);

  const p = project({ "job.ts": KEYED_JOB });
  const refusedSubmit = await cli(["submit", "job.ts", "--coordinator", c.address], { cwd: p.dir });
  assert.notEqual(refusedSubmit.code, 0);
  assert.match(refusedSubmit.stderr, /auth token/);

  const submitted = await cli(["submit", "job.ts", "--coordinator", c.address, "--auth-token-file", tokenFile],
    { cwd: p.dir });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  const status = await waitEnded(id, c.address, ["--auth-token-file", tokenFile]);
  assert.match(status, /state:\s+finished/);
  // The token may come from the environment instead of a file.
  const listed = await cli(["list", "--coordinator", c.address], { env: { SLUICE_AUTH_TOKEN: TOKEN } });
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${id}\\s+finished`));
  const cancel = await cli(["cancel", id, "--coordinator", c.address]);
  assert.notEqual(cancel.code, 0, "cancel without the token is refused too");
});

test("with a cluster token, /metrics of the coordinator and workers wants it; the probes stay open", async () => {
  const c = await cluster({ workers: 1, coordinatorArgs: ["--auth-token-file", tokenFile],
    workerArgs: ["--auth-token-file", tokenFile] });
  const get = (url, token) =>
    fetch(url, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
      .then(async (r) => ({ status: r.status, text: await r.text() }));
  for (const url of [c.metrics.coordinator, ...c.metrics.workers]) {
    const without = await get(url);
    assert.equal(without.status, 401, `${url}: ${without.text}`);
    assert.match(without.text, /needs the cluster token/);
    assert.doesNotMatch(without.text, /sluice_/);
    assert.equal((await get(url, "nope")).status, 401, url);
    const with_ = await get(url, TOKEN);
    assert.equal(with_.status, 200, url);
    assert.match(with_.text, /# TYPE sluice_/);
  }
  const worker = new URL(c.metrics.workers[0]);
  for (const probe of ["/healthz", "/readyz"]) {
    const answer = await get(`${worker.origin}${probe}`);
    assert.equal(answer.status, 200, `${probe}: ${answer.text}`);
    assert.equal(answer.text, "ok\n");
  }
});

test("with a cluster token, the SDK is refused without it and runs a job with it", async () => {
  const c = await cluster({ workers: 1, coordinatorArgs: ["--auth-token-file", tokenFile],
    workerArgs: ["--auth-token-file", tokenFile] });
  const without = await runDriver(c.address, {});
  assert.match(without.error ?? "", /refused the call: .*requires the cluster's auth token/);
  const wrong = await runDriver(c.address, { authToken: "wrong" });
  assert.match(wrong.error ?? "", /does not accept the auth token/);
  const withFile = await runDriver(c.address, { authTokenFile: tokenFile });
  assert.deepEqual(withFile, { state: "finished", results: 1000 });
  const withToken = await runDriver(c.address, { authToken: TOKEN });
  assert.deepEqual(withToken, { state: "finished", results: 1000 });
});

test("a rogue worker without the token cannot register, is sent no task, and cannot drive a worker", async () => {
  const c = await cluster({ workers: 1, slots: 4, coordinatorArgs: ["--auth-token-file", tokenFile],
    workerArgs: ["--auth-token-file", tokenFile] });
  const proto = loadProto();
  const deployed = [];
  const server = new grpc.Server();
  server.addService(proto.WorkerService.service, {
    DeployTask: (call, done) => { deployed.push(call.request.task?.taskId); done(null, {}); },
    CancelTask: (_call, done) => done(null, {}),
    TriggerCheckpoint: (_call, done) => done(null, {}),
    NotifyCheckpointComplete: (_call, done) => done(null, {}),
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  cleanups.push(() => new Promise((done) => server.tryShutdown(done)));
  const coordinator = new proto.ClusterService(c.address, grpc.credentials.createInsecure());
  cleanups.push(() => coordinator.close());
  const registration = { address: `127.0.0.1:${port}`, slots: 64, name: "rogue" };

  const bare = await unary(coordinator, "RegisterWorker", registration);
  assert.equal(bare.error?.code, grpc.status.UNAUTHENTICATED, `registered: ${JSON.stringify(bare.response)}`);
  assert.match(bare.error.details, /requires the cluster's auth token/);
  const wrong = await unary(coordinator, "RegisterWorker", registration, bearer("guess"));
  assert.equal(wrong.error?.code, grpc.status.UNAUTHENTICATED);
  const heartbeat = await unary(coordinator, "Heartbeat", { workerId: "worker-1", tasks: [] });
  assert.equal(heartbeat.error?.code, grpc.status.UNAUTHENTICATED, "nor can it pose as a registered worker");

  // Jobs run on the real worker only; none of their tasks reaches the rogue.
  const p = project({ "job.ts": KEYED_JOB });
  for (let i = 0; i < 2; i++) {
    const submitted = await cli(["submit", "job.ts", "-c", c.address, "--auth-token-file", tokenFile], { cwd: p.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    assert.match(await waitEnded(submitted.stdout.trim(), c.address, ["--auth-token-file", tokenFile]), /state:\s+finished/);
  }
  const workers = await cli(["workers", "-c", c.address, "--auth-token-file", tokenFile]);
  assert.doesNotMatch(workers.stdout, /rogue/);
  assert.deepEqual(deployed, []);
  assert.match(c.outputs[0](), /refused a call from .*requires the cluster's auth token/);

  // The worker's own services want the token too: task control and the data exchange.
  const worker = new proto.WorkerService(c.workerAddresses[0], grpc.credentials.createInsecure());
  cleanups.push(() => worker.close());
  const deploy = await unary(worker, "DeployTask", { task: { taskId: "j/x.0", jobId: "j" } });
  assert.equal(deploy.error?.code, grpc.status.UNAUTHENTICATED);
  assert.match(deploy.error.details, /worker .* requires the cluster's auth token/);
  const cancel = await unary(worker, "CancelTask", { taskId: "j/x.0" }, bearer("guess"));
  assert.equal(cancel.error?.code, grpc.status.UNAUTHENTICATED);
  const exchange = new proto.ExchangeService(c.workerAddresses[0], grpc.credentials.createInsecure());
  cleanups.push(() => exchange.close());
  const transfer = await new Promise((resolve) => {
    const stream = exchange.Multiplex();
    stream.on("data", () => {});
    stream.on("error", (error) => resolve(error));
    stream.on("end", () => resolve(null));
    stream.write({ frames: [{ channelId: 1, open: { taskId: "j/x.0", channel: 0 } }] });
  });
  assert.equal(transfer?.code, grpc.status.UNAUTHENTICATED);

  // A real worker given the wrong token stops with a clear error instead of retrying forever.
  const impostor = await cli(["worker", "-c", c.address, "--auth-token-file", wrongTokenFile], { timeoutMs: 20000 });
  assert.notEqual(impostor.code, 0);
  assert.match(impostor.stderr, /does not accept the auth token/);
});

test("without a token the coordinator and workers refuse a non-loopback address unless --insecure", async () => {
  const refused = await cli(["coordinator", "--listen", "0.0.0.0:0"], { timeoutMs: 15000 });
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /refuses to listen on 0\.0\.0\.0:0 without an auth token: anyone who reaches/);
  assert.match(refused.stderr, /--insecure/);
  const worker = await cli(["worker", "--listen", "0.0.0.0:0", "-c", "127.0.0.1:1"], { timeoutMs: 15000 });
  assert.equal(worker.code, 2, worker.stdout + worker.stderr);
  assert.match(worker.stderr, /the worker refuses to listen on 0\.0\.0\.0:0 without an auth token/);
  const cluster = await cli(["cluster", "--listen", "0.0.0.0:0"], { timeoutMs: 15000 });
  assert.equal(cluster.code, 2, cluster.stderr);
  assert.match(cluster.stderr, /refuses to listen on 0\.0\.0\.0:0/);

  for (const args of [["--insecure"], ["--auth-token-file", tokenFile]]) {
    const started = await startServer(["coordinator", "--listen", "0.0.0.0:0", ...args],
      /coordinator listening on \S+:\d+/, `coordinator ${args[0]}`, NO_ENV_TOKEN);
    await new Promise((done) => {
      started.child.once("exit", done);
      started.child.kill("SIGTERM");
    });
  }
});

test("sluice cluster hands its token to the workers it starts", async () => {
  const started = await startServer(["cluster", "--workers", "2", "--listen", "127.0.0.1:0", "--auth-token-file", tokenFile],
    /coordinator listening on (127\.0\.0\.1:\d+)[\s\S]*cluster ready: 2 workers/, "cluster", NO_ENV_TOKEN);
  const stopped = new Promise((done) => started.child.once("exit", done));
  cleanups.push(async () => {
    started.child.kill("SIGTERM");
    await stopped;
  });
  const address = started.match[1];
  const refused = await cli(["workers", "-c", address]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /auth token/);
  const workers = await cli(["workers", "-c", address, "--auth-token-file", tokenFile]);
  assert.equal(workers.code, 0, workers.stderr);
  assert.equal(workers.stdout.trim().split("\n").length, 3, workers.stdout);
});

test("sluice run needs no token, whatever the environment holds", async () => {
  const p = project({ "job.ts": KEYED_JOB });
  const run = await sluice(["run", "job.ts"], { cwd: p.dir, env: { SLUICE_AUTH_TOKEN: "whatever" } });
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim().split("\n").length, 1000);
});

test("TLS end to end: CLI, SDK, workers and the exchange between them, with a self-signed certificate", async () => {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  const made = await exec("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]);
  assert.equal(made.code, 0, made.stderr);
  const tls = ["--tls-cert", cert, "--tls-key", key, "--tls-ca", cert, "--auth-token-file", tokenFile];
  const c = await cluster({ workers: 2, slots: 2, coordinatorArgs: tls, workerArgs: tls });

  const plain = await cli(["list", "-c", c.address, "--auth-token-file", tokenFile], { timeoutMs: 30000 });
  assert.notEqual(plain.code, 0, "a plaintext client cannot talk to a TLS coordinator");
  const client = ["--tls-ca", cert, "--auth-token-file", tokenFile];
  const listed = await cli(["list", "-c", c.address, ...client]);
  assert.equal(listed.code, 0, listed.stderr);

  const p = project({ "job.ts": KEYED_JOB });
  const submitted = await cli(["submit", "job.ts", "-c", c.address, ...client], { cwd: p.dir });
  assert.equal(submitted.code, 0, submitted.stderr);
  const status = await waitEnded(submitted.stdout.trim(), c.address, client);
  assert.match(status, /state:\s+finished/);
  // Both workers ran tasks, so keyed records crossed between them over TLS.
  for (const worker of c.workerIds) assert.match(status, new RegExp(worker));

  assert.deepEqual(await runDriver(c.address, { tlsCaFile: cert, authTokenFile: tokenFile }),
    { state: "finished", results: 1000 });
  const sdkPlain = await runDriver(c.address, { authTokenFile: tokenFile, timeout: 3000 });
  assert.match(sdkPlain.error ?? "", /coordinator/);
});

test("secrets: 0600 records in a 0700 data dir, no password in records, status, list or logs; passwordEnv", async () => {
  const password = `Pw-${randomBytes(9).toString("hex")}`;
  const db = await startMariaDb({ password });
  cleanups.push(() => db.destroy());
  await db.query("CREATE TABLE counts (k INT PRIMARY KEY, n BIGINT NOT NULL)");
  const dataDir = join(dir, "data");
  const c = await cluster({
    workers: 1,
    coordinatorArgs: ["--auth-token-file", tokenFile, "--data-dir", dataDir],
    workerArgs: ["--auth-token-file", tokenFile],
    env: { SLUICE_LOG: "debug", SLUICE_TEST_DB_PW: password },
  });
  const sinkJob = (name, passwordField) => `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("${name}", { parallelism: 1 });
job.source(sources.generator({ count: 100 }))
  .sink(sinks.mysql({
    host: "127.0.0.1", port: ${db.port}, user: "${db.user}", database: "${db.database}", ${passwordField},
    statement: "INSERT INTO counts (k, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)",
    params: (k: number) => [k % 10, 1],
  }));
export default job;
`;
  const p = project({
    "from-env.ts": sinkJob("from-env", `passwordEnv: "SLUICE_TEST_DB_PW"`),
    "inline.ts": sinkJob("inline", `password: "${password}"`),
    "unset.ts": sinkJob("unset", `passwordEnv: "SLUICE_TEST_UNSET_PW"`),
  });
  const client = ["-c", c.address, "--auth-token-file", tokenFile];
  const ids = {};
  for (const name of ["from-env", "inline", "unset"]) {
    const submitted = await cli(["submit", `${name}.ts`, ...client], { cwd: p.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    ids[name] = submitted.stdout.trim();
    const status = await waitEnded(ids[name], c.address, ["--auth-token-file", tokenFile]);
    assert.doesNotMatch(status, new RegExp(password), `status of ${name}`);
    if (name === "unset") {
      assert.match(status, /state:\s+failed/);
      assert.match(status, /passwordEnv.*SLUICE_TEST_UNSET_PW, which is not set on this worker/);
    } else {
      assert.match(status, /state:\s+finished/, status);
    }
  }
  // Both working jobs wrote their rows: 100 records over 10 keys, twice.
  assert.deepEqual(await db.query("SELECT SUM(n), COUNT(*) FROM counts"), [["200", "10"]]);

  const listed = await cli(["list", ...client]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.doesNotMatch(listed.stdout, new RegExp(password));

  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.equal(statSync(join(dataDir, "jobs")).mode & 0o777, 0o700);
  const records = readdirSync(join(dataDir, "jobs"));
  assert.equal(records.length, 3, records.join(", "));
  for (const file of records) {
    const path = join(dataDir, "jobs", file);
    assert.equal(statSync(path).mode & 0o777, 0o600, path);
    assert.doesNotMatch(readFileSync(path, "utf8"), new RegExp(password), path);
  }
  const inline = readFileSync(join(dataDir, "jobs", `${ids.inline}.json`), "utf8");
  assert.match(inline, /\\"password\\":\\"\[redacted\]\\"/, "the record says a password was there");
  assert.match(readFileSync(join(dataDir, "jobs", `${ids["from-env"]}.json`), "utf8"), /SLUICE_TEST_DB_PW/);
  for (const output of c.outputs) assert.doesNotMatch(output(), new RegExp(password));
});
