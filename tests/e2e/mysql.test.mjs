// The MySQL sink against a real MariaDB server (mariadbd on a fresh data folder, a user with a
// password): jobs run with `sluice run` and on a cluster of coordinator and worker processes,
// and what arrived is read back with the mariadb client. One test kills MariaDB mid-job and
// starts it again: the job recovers by itself, `sluice status` and the worker's metrics show
// the problem meanwhile, and every row ends with its right final value.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, makeProject, sluice, startCluster } from "./harness.mjs";
import { poll, startMariaDb } from "./servers.mjs";

let db;
const cleanups = [];

before(async () => {
  db = await startMariaDb();
  await db.query(`CREATE TABLE words (word VARCHAR(32) PRIMARY KEY, n BIGINT NOT NULL,
                  len INT NOT NULL, first_seen DOUBLE, note VARCHAR(8), tags JSON)`);
  await db.query("CREATE TABLE outage (k VARCHAR(16) PRIMARY KEY, n BIGINT NOT NULL)");
  await db.query(`CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(32), region VARCHAR(16),
                  total DECIMAL(10,2), items JSON)`);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await db?.destroy();
});

function project(files) {
  const p = makeProject(files);
  cleanups.push(p.cleanup);
  return p;
}

const lastLine = (text) => text.trim().split("\n").pop();

/** A job file writing `stream` into MariaDB with `statement` and `params`. */
const mysqlJob = (name, body) => `
import { Job, sources, sinks } from "@sluice/sdk";
const db = { host: "127.0.0.1", port: Number(process.env.DB_PORT), user: process.env.DB_USER!,
             password: process.env.DB_PASSWORD, database: process.env.DB_NAME! };
const job = new Job("${name}", { parallelism: 2 });
${body}
export default job;
`;

const runEnv = () => ({ DB_PORT: String(db.port), DB_USER: db.user, DB_PASSWORD: db.password, DB_NAME: db.database });

test("sluice run: an enriched keyed count is upserted, batch by batch, with every value type", async () => {
  const p = project({
    "job.ts": mysqlJob("mysql-enrich", `
job.source(sources.generator({ count: 2000 }))
  .map((n: number) => ({ word: "w" + (n % 25), n: 1, at: n / 4 }))
  .keyBy((r) => r.word)
  .reduce((a, b) => ({ word: a.word, n: a.n + b.n, at: a.at }))
  .map((r) => ({ ...r, len: r.word.length }))
  .sink(sinks.mysql({
    ...db,
    statement: \`INSERT INTO words (word, n, len, first_seen, note, tags) VALUES (?, ?, ?, ?, ?, ?)
                ON DUPLICATE KEY UPDATE n = VALUES(n), len = VALUES(len), tags = VALUES(tags)\`,
    params: (r) => [r.word, r.n, r.len, r.at, r.n % 2 === 0 ? null : "odd", { len: r.len, big: r.n > 50 }],
  }), { name: "words-table" });
`),
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, env: runEnv() });
  assert.equal(result.code, 0, result.stderr);
  const rows = await db.query("SELECT word, n, len, first_seen, note, tags FROM words ORDER BY word");
  assert.equal(rows.length, 25);
  for (const [word, n, len, firstSeen, note, tags] of rows) {
    const i = Number(word.slice(1));
    assert.equal(n, "80", word);
    assert.equal(len, String(word.length));
    // The first record of a word comes from either generator subtask (n = i or n = i + 25);
    // later upserts leave first_seen as the insert wrote it.
    assert.ok([i / 4, (i + 25) / 4].includes(Number(firstSeen)), `${word}: first_seen ${firstSeen}`);
    assert.equal(note, "odd", "written by the first insert (n = 1); the upserts leave it");
    assert.deepEqual(JSON.parse(tags), { len: word.length, big: true });
  }
});

test("the mysql-enrich example upserts every order, enriched, and a second run changes nothing", async () => {
  const dir = join(REPO, "examples/mysql-enrich");
  const args = ["run", "job.ts", "--param", `port=${db.port}`, "--param", `user=${db.user}`,
    "--param", `password=${db.password}`, "--param", `database=${db.database}`];
  const orders = readFileSync(join(dir, "orders.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const regions = { alice: "eu", bob: "us", carol: "apac" };
  for (let run = 0; run < 2; run++) {
    const result = await sluice(args, { cwd: dir });
    assert.equal(result.code, 0, result.stderr);
    const rows = await db.query("SELECT id, customer, region, total, items FROM orders ORDER BY id");
    assert.equal(rows.length, orders.length);
    for (const [i, [id, customer, region, total, items]] of rows.entries()) {
      const order = orders[i];
      assert.equal(Number(id), order.id);
      assert.equal(customer, order.customer);
      assert.equal(region, regions[order.customer] ?? "unknown");
      assert.equal(total, (Math.round(order.amount * 1.2 * 100) / 100).toFixed(2));
      assert.deepEqual(JSON.parse(items), order.items);
    }
  }
});

test("a row the server refuses fails the job with the server's error, the operator, the statement and the row", async () => {
  const p = project({
    "job.ts": mysqlJob("mysql-refused", `
job.source(sources.generator({ count: 3 }))
  .sink(sinks.mysql({
    ...db,
    statement: "INSERT INTO words (word, n, len, note) VALUES (?, ?, ?, ?)",
    params: (n) => ["refused" + n, n, 1, "much too long for eight characters"],
  }), { name: "words-table", parallelism: 1 });
`),
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, env: runEnv() });
  assert.equal(result.code, 1, result.stderr);
  assert.match(
    lastLine(result.stderr),
    new RegExp(`operator 'words-table' \\(op2\\): mysql 127\\.0\\.0\\.1:${db.port}, statement ` +
      "`INSERT INTO words \\(word, n, len, note\\) VALUES \\(\\?, \\?, \\?, \\?\\)`: refused row 1 of \\d+ " +
      '\\["refused\\d",\\d,1,"much too long for eight characters"\\]: .*Data too long for column \'note\'.*\\(error 1406'),
  );
  assert.deepEqual(await db.query("SELECT COUNT(*) FROM words WHERE word LIKE 'refused%'"), [["0"]],
    "the failed transaction left nothing behind");
});

test("a missing table and a wrong password fail the job at once with the server's words", async () => {
  const missing = project({
    "job.ts": mysqlJob("mysql-missing-table", `
job.source(sources.generator({ count: 3 }))
  .sink(sinks.mysql({ ...db, statement: "INSERT INTO nope (a) VALUES (?)", params: (n) => [n] }), { name: "sink" });
`),
  });
  const result = await sluice(["run", "job.ts"], { cwd: missing.dir, env: runEnv() });
  assert.equal(result.code, 1, result.stderr);
  assert.match(lastLine(result.stderr), /operator 'sink' \(op2\): mysql 127\.0\.0\.1:\d+, statement `INSERT INTO nope \(a\) VALUES \(\?\)`: cannot prepare the statement: Table 'sluice\.nope' doesn't exist \(error 1146/);

  const denied = await sluice(["run", "job.ts"], { cwd: missing.dir, env: { ...runEnv(), DB_PASSWORD: "wrong" } });
  assert.equal(denied.code, 1, denied.stderr);
  assert.match(lastLine(denied.stderr), /operator 'sink' \(op2\): mysql 127\.0\.0\.1:\d+, .*cannot log in: Access denied for user 'sluice'.*\(error 1045/);
});

test("bad config is refused at submit with every problem naming the operator", async () => {
  const p = project({
    "job.ts": mysqlJob("mysql-bad-config", `
job.source(sources.generator({ count: 3 }))
  .sink(sinks.mysql({ host: "mysql://db", user: "u", database: "d",
                      statement: "SELECT * FROM t WHERE a = ?", params: (n) => [n] }), { name: "sink" });
job.source(sources.generator({ count: 3 }))
  .sink(sinks.mysql({ host: "db", user: "u", database: "d",
                      statement: "INSERT INTO t VALUES (1); DELETE FROM t", params: (n) => [n] }), { name: "sink2" });
`),
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, env: runEnv() });
  assert.notEqual(result.code, 0);
  assert.match(result.stderr, /operator "sink" \(op2\): config field "host" must be a host name or address/);
  assert.match(result.stderr, /operator "sink" \(op2\): config field "statement" must be an INSERT, REPLACE, UPDATE, DELETE or CALL statement/);
  assert.match(result.stderr, /operator "sink2" \(op4\): config field "statement" must be a single statement/);
});

test("a function returning the wrong number of values fails the job naming the sink operator", async () => {
  const p = project({
    "job.ts": mysqlJob("mysql-count", `
job.source(sources.generator({ count: 3 }))
  .sink(sinks.mysql({ ...db, statement: "INSERT INTO outage (k, n) VALUES (?, ?)", params: (n) => [n] }), { name: "sink" });
`),
  });
  const result = await sluice(["run", "job.ts"], { cwd: p.dir, env: runEnv() });
  assert.equal(result.code, 1, result.stderr);
  assert.match(lastLine(result.stderr), /operator 'sink' \(op2\): the function returned 1 values, but the statement has 2 '\?' placeholders; the function returned \[\d\]/);
});

test("a cluster: MariaDB killed mid-job and started again; status and metrics show it, every row ends right", async (t) => {
  const cluster = await startCluster({ workers: 2, slots: 4 });
  cleanups.push(cluster.stop);
  // 8000 records at 1000/s over two subtasks: about 8 s, of which MariaDB is away for a few.
  const p = project({
    "job.ts": mysqlJob("mysql-outage", `
job.source(sources.generator({ count: 8000, rate: 1000 }))
  .map((n: number) => ({ k: "k" + (n % 40), n: 1 }))
  .keyBy((r) => r.k)
  .reduce((a, b) => ({ k: a.k, n: a.n + b.n }))
  .sink(sinks.mysql({
    ...db,
    timeout: "2s",
    statement: "INSERT INTO outage (k, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n)",
    params: (r) => [r.k, r.n],
  }), { name: "outage-table" });
`),
  });
  const submitted = await sluice(["submit", "job.ts", "--coordinator", cluster.address], { cwd: p.dir, env: runEnv() });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  const status = () => sluice(["status", id, "--coordinator", cluster.address]).then((r) => r.stdout);

  await poll("the first rows arriving", async () => {
    const [[n]] = await db.query("SELECT COUNT(*) FROM outage");
    return { ok: Number(n) >= 40, n };
  });
  await db.stop("SIGKILL");
  const down = await poll("sluice status showing the sink retrying", async () => {
    const text = await status();
    return {
      ok: new RegExp(`operator 'outage-table' \\(op\\d+\\): mysql 127\\.0\\.0\\.1:${db.port}: .*retrying in \\d+ ms`).test(text),
      text,
    };
  });
  assert.match(down.text, /state:\s+running/);
  t.diagnostic(`while down:\n${down.text}`);
  const metrics = await Promise.all(cluster.metrics.workers.map((url) => fetch(url).then((r) => r.text())));
  assert.match(metrics.join("\n"), /sluice_task_connector_healthy\{[^}]*\} 0/, "a worker reports the sink unhealthy");
  // The retries are counted while they happen (once the job ends, its tasks leave the metrics).
  await poll("the worker counting the sink's retries", async () => {
    const text = (await Promise.all(cluster.metrics.workers.map((url) => fetch(url).then((r) => r.text())))).join("\n");
    const retries = [...text.matchAll(/sluice_task_connector_retries_total\{[^}]*\} (\d+)/g)]
      .reduce((sum, m) => sum + Number(m[1]), 0);
    return { ok: retries > 0, retries };
  });
  await db.start();

  const final = await poll("the job finishing", async () => {
    const text = await status();
    return { ok: /state:\s+(finished|failed|canceled)/.test(text), text };
  }, 90000);
  assert.match(final.text, /state:\s+finished/, final.text);
  assert.doesNotMatch(final.text, /retrying/);
  const rows = await db.query("SELECT k, n FROM outage ORDER BY k");
  assert.equal(rows.length, 40, JSON.stringify(rows));
  for (const [k, n] of rows) assert.equal(n, "200", `${k} has its final count`);
});
