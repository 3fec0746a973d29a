// The coordinator's HTTP API through its real port, against real coordinator and worker
// processes: every route of openapi.json, every error status, the token, the event stream
// (status, metrics, output, resuming with Last-Event-ID, the cap on streams) and a stalled
// reader that must not slow a job down.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { startCluster, REPO, SLUICE } from "./harness.mjs";

const { Job, sources, sinks, connect } = await import(join(REPO, "sdk-ts/dist/index.js"));

/** A generator job printing {n} records on stdout; `rate` 0: as fast as it goes. */
function counterSpec({ name = "counter", rate = 500, count, parallelism = 1 } = {}) {
  const job = new Job(name, { parallelism });
  job
    .source(sources.generator({ ...(rate ? { rate } : {}), ...(count ? { count } : {}) }))
    .map((n) => ({ n }))
    .sink(sinks.stdout());
  return job.toSpec();
}

async function call(base, method, path, { body, headers = {}, raw } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    if (!("Content-Type" in init.headers)) init.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(`http://${base}${path}`, init);
  const text = await response.text();
  let json = null;
  try { json = JSON.parse(text); } catch {}
  return { status: response.status, headers: response.headers, text, json };
}

function assertError(r, status, code) {
  assert.equal(r.status, status, r.text);
  assert.equal(typeof r.json?.error?.message, "string", r.text);
  if (code) assert.equal(r.json.error.code, code, r.text);
}

/** Reads an SSE stream until `until(events)` holds; returns the events and aborts the request. */
async function readEvents(base, id, until, { headers = {}, timeoutMs = 20000 } = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const events = [];
  try {
    const response = await fetch(`http://${base}/api/v1/jobs/${id}/events`, { headers, signal: abort.signal });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e = { comment: false };
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) e.comment = true;
          const m = /^(event|id|data): ?(.*)$/.exec(line);
          if (m) e[m[1]] = m[1] === "data" ? JSON.parse(m[2]) : m[2];
        }
        events.push(e);
        if (until(events)) return events;
      }
    }
    return events;
  } catch (err) {
    if (abort.signal.aborted) throw new Error(`the event stream did not show what was expected within ${timeoutMs} ms: ${JSON.stringify(events.map((e) => e.event))}`);
    throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

async function waitFor(what, fn, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let cluster;
before(async () => {
  cluster = await startCluster({ workers: 1, slots: 40 });
});
after(async () => {
  await cluster?.stop();
});

test("healthz, readyz and metrics answer; responses carry a CSP and no CORS headers", async () => {
  const health = await call(cluster.http, "GET", "/healthz");
  assert.equal(health.status, 200);
  assert.equal(health.json.status, "ok");
  assert.match(health.headers.get("content-security-policy"), /default-src 'self'/);
  assert.equal(health.headers.get("access-control-allow-origin"), null);
  const ready = await waitFor("readyz", async () => {
    const r = await call(cluster.http, "GET", "/readyz");
    return r.status === 200 ? r : null;
  });
  assert.equal(ready.json.workers, 1);
  const metrics = await call(cluster.http, "GET", "/metrics");
  assert.equal(metrics.status, 200);
  assert.match(metrics.text, /sluice_workers 1/);
});

test("every route of openapi.json answers, and other methods on its paths get 405 with Allow", async () => {
  const doc = await call(cluster.http, "GET", "/api/v1/openapi.json");
  assert.equal(doc.status, 200);
  assert.equal(doc.json.openapi, "3.0.3");
  const paths = Object.keys(doc.json.paths);
  for (const expected of ["/api/v1/jobs", "/api/v1/jobs/validate", "/api/v1/jobs/{id}", "/api/v1/jobs/{id}/plan",
    "/api/v1/jobs/{id}/cancel", "/api/v1/jobs/{id}/savepoints", "/api/v1/jobs/{id}/events", "/api/v1/workers",
    "/api/v1/openapi.json", "/healthz", "/readyz", "/metrics"]) {
    assert.ok(paths.includes(expected), `openapi.json lists ${expected}`);
  }
  const { json: created } = await call(cluster.http, "POST", "/api/v1/jobs", { body: counterSpec({ name: "routes", rate: 50 }) });
  const id = created.id;
  for (const path of paths) {
    const methods = Object.keys(doc.json.paths[path]).map((m) => m.toUpperCase());
    const concrete = path.replace("{id}", id);
    for (const method of methods) {
      if (path.endsWith("/events") || path.endsWith("/cancel") || path.endsWith("/savepoints")) continue;  // below
      const body = method === "POST" ? counterSpec({ name: "routes-probe", rate: 10 }) : undefined;
      const r = await call(cluster.http, method, concrete, { body });
      assert.ok(r.status < 300 || (path === "/readyz" && r.status === 503), `${method} ${path}: ${r.status} ${r.text}`);
      for (const code of Object.keys(doc.json.paths[path][method.toLowerCase()].responses)) {
        assert.match(code, /^\d{3}$/);
      }
    }
    const other = ["GET", "POST", "PUT", "DELETE", "PATCH"].find((m) => !methods.includes(m));
    const r = await call(cluster.http, other, concrete, other === "GET" ? {} : { body: {} });
    assertError(r, 405, "method_not_allowed");
    assert.deepEqual(r.headers.get("allow").split(", ").sort(), methods.sort(), `${other} ${path}`);
  }
  const cancel = await call(cluster.http, "POST", `/api/v1/jobs/${id}/cancel`, { body: {} });
  assert.equal(cancel.status, 200, cancel.text);
  for (const job of (await call(cluster.http, "GET", "/api/v1/jobs")).json.jobs) {
    if (job.state === "running") await call(cluster.http, "POST", `/api/v1/jobs/${job.id}/cancel`, { body: {} });
  }
});

test("errors: 400 with every problem, 404, 409, 413, 415, and the error shape", async () => {
  const notJson = await call(cluster.http, "POST", "/api/v1/jobs", { body: "{not json", raw: true });
  assertError(notJson, 400, "invalid_spec");
  const bad = counterSpec({ name: "bad" });
  bad.operators[1].kind = "no-such-kind";
  bad.operators.push({ id: "op9", name: "dangling", kind: "map", parallelism: 0, configJson: "{}", functions: { fn: "(x) => x" } });
  bad.edges.push({ from: "op9", to: "op404", partitioning: "FORWARD" });
  for (const path of ["/api/v1/jobs", "/api/v1/jobs/validate"]) {
    const r = await call(cluster.http, "POST", path, { body: bad });
    assertError(r, 400, "invalid_job");
    assert.ok(r.json.error.problems.length >= 2, r.text);
    assert.ok(r.json.error.problems.some((p) => p.operatorId === "op2" && /no-such-kind/.test(p.message)), r.text);
  }
  // A user function that does not compile: its problem names the line and column inside it.
  const broken = counterSpec({ name: "broken" });
  broken.operators[1].functions = { fn: "(n) => {\n  return { n: n +* 2 };\n}" };
  const syntax = await call(cluster.http, "POST", "/api/v1/jobs", { body: broken });
  assertError(syntax, 400, "invalid_job");
  assert.ok(syntax.json.error.problems.some((p) => p.operatorId === "op2" &&
    /SyntaxError: .*\(line 2, column 18 of the function\)/.test(p.message)), syntax.text);
  const valid = await call(cluster.http, "POST", "/api/v1/jobs/validate", { body: counterSpec() });
  assert.equal(valid.status, 200, valid.text);
  assert.equal(valid.json.valid, true);
  const before = (await call(cluster.http, "GET", "/api/v1/jobs")).json.jobs.length;
  assert.equal(before, (await call(cluster.http, "GET", "/api/v1/jobs")).json.jobs.length, "validate deploys nothing");

  for (const [method, path] of [["GET", "/api/v1/jobs/nope"], ["GET", "/api/v1/jobs/nope/plan"],
    ["POST", "/api/v1/jobs/nope/cancel"], ["POST", "/api/v1/jobs/nope/savepoints"],
    ["GET", "/api/v1/jobs/nope/events"], ["GET", "/api/v1/no-such-route"]]) {
    assertError(await call(cluster.http, method, path, method === "POST" ? { body: {} } : {}), 404, "not_found");
  }
  const plain = await call(cluster.http, "POST", "/api/v1/jobs", { body: JSON.stringify(counterSpec()), raw: true, headers: { "Content-Type": "text/plain" } });
  assertError(plain, 415, "unsupported_media_type");
  const huge = await call(cluster.http, "POST", "/api/v1/jobs", { body: `{"name":"${"x".repeat(17 << 20)}"}`, raw: true });
  assertError(huge, 413, "payload_too_large");

  const { json: { id } } = await call(cluster.http, "POST", "/api/v1/jobs", { body: counterSpec({ name: "short", count: 10, rate: 0 }) });
  await waitFor("the short job to finish", async () => (await call(cluster.http, "GET", `/api/v1/jobs/${id}`)).json.state === "finished");
  assertError(await call(cluster.http, "POST", `/api/v1/jobs/${id}/cancel`, { body: {} }), 409, "conflict");
  assertError(await call(cluster.http, "POST", `/api/v1/jobs/${id}/savepoints`, { body: {} }), 409, "conflict");
  // A page on another site whose name was rebound to 127.0.0.1 (fetch cannot set Host: node:http).
  const [host, port] = cluster.http.split(":");
  const rebind = await new Promise((resolve, reject) => {
    http.get({ host, port, path: "/api/v1/jobs", headers: { Host: "evil.example" } }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, json: JSON.parse(body), text: body }));
    }).on("error", reject);
  });
  assertError(rebind, 403, "forbidden_host");
});

test("a job through the API: 201, detail, plan, workers, events with output, resumed with Last-Event-ID, cancel", async () => {
  const created = await call(cluster.http, "POST", "/api/v1/jobs", { body: counterSpec({ name: "watched", rate: 400 }) });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;
  assert.equal(created.headers.get("location"), `/api/v1/jobs/${id}`);
  const list = await call(cluster.http, "GET", "/api/v1/jobs");
  const listed = list.json.jobs.find((j) => j.id === id);
  assert.equal(listed.name, "watched");
  assert.ok(listed.startedAtMs > 0 && "durationMs" in listed);
  const plan = (await call(cluster.http, "GET", `/api/v1/jobs/${id}/plan`)).json;
  assert.deepEqual(plan.operators.map((o) => o.kind), ["source.generator", "map", "sink.stdout"]);
  assert.equal(plan.groups.length, 1, "one chained task group");
  assert.deepEqual(plan.groups[0].operators, ["op1", "op2", "op3"]);
  assert.equal(plan.edges[0].partitioning, "forward");
  const workers = (await call(cluster.http, "GET", "/api/v1/workers")).json.workers;
  assert.equal(workers.length, 1);
  assert.equal(workers[0].slots, 40);

  const first = await readEvents(cluster.http, id, (es) =>
    es.some((e) => e.event === "status") && es.some((e) => e.event === "metrics" && e.data.groups[0]?.recordsOut > 0) &&
    es.filter((e) => e.event === "output").length >= 2);
  const status = first.find((e) => e.event === "status").data;
  assert.equal(status.id, id);
  assert.ok(["running", "deploying", "created"].includes(status.state), status.state);
  const outputs = first.filter((e) => e.event === "output");
  const seen = outputs.flatMap((e) => e.data.records.map((r) => r.n));
  assert.deepEqual(seen, seen.map((_, i) => seen[0] + i), "records in order, none missing");
  const lastId = outputs.at(-1).id;
  assert.equal(Number(lastId), outputs.reduce((n, e) => n + e.data.records.length + e.data.dropped, 0));

  const resumed = await readEvents(cluster.http, id, (es) => es.some((e) => e.event === "output"), { headers: { "Last-Event-ID": lastId } });
  const next = resumed.find((e) => e.event === "output");
  assert.equal(next.data.dropped, 0, "the ring still held what came next");
  assert.equal(next.data.records[0].n, seen.at(-1) + 1, "resumes right after the last record seen");

  const cancel = await call(cluster.http, "POST", `/api/v1/jobs/${id}/cancel`, { body: {} });
  assert.equal(cancel.status, 200);
  const ended = await readEvents(cluster.http, id, (es) => es.some((e) => e.event === "end"));
  assert.equal(ended.at(-1).data.state, "canceled");
  assert.equal(ended.filter((e) => e.event === "status").at(-1).data.state, "canceled");
});

test("metrics events and the job detail carry each task's watermark and back-pressure", async () => {
  const BASE = 1700000000000;
  const job = new Job("slow-downstream", { parallelism: 1 });
  job
    .source(sources.generator({ count: 10_000_000 }))
    .assignTimestamps((n) => 1700000000000 + n, { maxOutOfOrderness: 0 })
    .rebalance()
    .map((n) => {
      // About a millisecond per record: far slower than the source.
      const until = Date.now() + 1;
      while (Date.now() < until) {}
      return n;
    }).name("slow")
    .sink(sinks.discard());
  const created = await call(cluster.http, "POST", "/api/v1/jobs", { body: job.toSpec() });
  assert.equal(created.status, 201, created.text);
  const id = created.json.id;
  try {
    const source = (m) => m.data.groups.find((g) => g.operators.startsWith("source.generator"));
    const slow = (m) => m.data.groups.find((g) => g.operators.includes("slow"));
    const events = await readEvents(cluster.http, id, (es) => es.some((e) => e.event === "metrics" &&
      source(e)?.backpressure > 0.5 && typeof source(e)?.watermark === "number"), { timeoutMs: 30000 });
    const metrics = events.filter((e) => e.event === "metrics").at(-1);
    // The source waits for the slow map most of the time; the map itself is not held back.
    assert.ok(source(metrics).watermark >= BASE, JSON.stringify(source(metrics)));
    assert.ok(slow(metrics).backpressure < 0.5, JSON.stringify(slow(metrics)));
    const task = metrics.data.tasks.find((t) => t.operators.startsWith("source.generator"));
    assert.ok(task.backpressure > 0.5 && task.watermark >= BASE, JSON.stringify(task));
    // Its rates, over the last 10 s of the worker's reports: the slow map lets about 1,000
    // records a second by, in batches of 4,096, once the first reports have come in.
    const detail = await waitFor("the job's rates", async () => {
      const d = (await call(cluster.http, "GET", `/api/v1/jobs/${id}`)).json;
      return d.tasks.every((t) => t.outPerSecond > 0) ? d : null;
    });
    const sourceTask = detail.tasks.find((t) => t.operators.startsWith("source.generator"));
    assert.ok(sourceTask.backpressuredMs > 0, JSON.stringify(sourceTask));
    assert.ok(sourceTask.outPerSecond < 100000, JSON.stringify(sourceTask));
    const slowTask = detail.tasks.find((t) => t.operators.includes("slow"));
    assert.ok(slowTask.inPerSecond > 0, JSON.stringify(slowTask));
    assert.ok(sourceTask.watermark >= BASE, JSON.stringify(sourceTask));
    // The SDK's status has them too.
    const sdkStatus = await (await connect(id, { coordinator: cluster.address })).status();
    const sdkSource = sdkStatus.tasks.find((t) => t.operators.startsWith("source.generator"));
    assert.ok(sdkSource.watermark >= BASE && Number.isFinite(sdkSource.watermark), JSON.stringify(sdkSource));
    assert.ok(sdkSource.backpressuredMs > 0, JSON.stringify(sdkSource));
    // `sluice status` prints them under each task.
    const status = await new Promise((resolve) => {
      const child = spawn(SLUICE, ["status", id, "-c", cluster.address]);
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.on("close", () => resolve(out));
    });
    assert.match(status, /watermark 2023-11-1\dT\d\d:\d\d:\d\d\.\d{3}Z, back-pressured \d+\.\d s in total/, status);
  } finally {
    await call(cluster.http, "POST", `/api/v1/jobs/${id}/cancel`, { body: {} });
  }
});

test("event streams are capped: the 17th gets 429", async () => {
  const openStreams = async () => {
    const text = (await call(cluster.http, "GET", "/metrics")).text;
    return Number(/^sluice_http_event_streams (\d+)$/m.exec(text)?.[1]);
  };
  // Earlier tests' streams are closed by their readers; the server frees them when it notices.
  await waitFor("earlier event streams to close", async () => (await openStreams()) === 0);
  const { json: { id } } = await call(cluster.http, "POST", "/api/v1/jobs", { body: counterSpec({ name: "popular", rate: 5 }) });
  const aborts = [];
  try {
    for (let i = 0; i < 16; i++) {
      const abort = new AbortController();
      aborts.push(abort);
      const r = await fetch(`http://${cluster.http}/api/v1/jobs/${id}/events`, { signal: abort.signal });
      assert.equal(r.status, 200);
    }
    assert.equal(await openStreams(), 16);
    const refused = await call(cluster.http, "GET", `/api/v1/jobs/${id}/events`);
    assertError(refused, 429, "too_many_streams");
    assert.equal(await openStreams(), 16);
  } finally {
    for (const a of aborts) a.abort();
    await call(cluster.http, "POST", `/api/v1/jobs/${id}/cancel`, { body: {} });
  }
  // Closed streams free their places.
  await waitFor("every closed stream's place", async () => (await openStreams()) === 0);
  const again = new AbortController();
  const r = await fetch(`http://${cluster.http}/api/v1/jobs/${id}/events`, { signal: again.signal });
  again.abort();
  assert.equal(r.status, 200);
});

test("with a token: every route but the probes needs it", async () => {
  const secured = await startCluster({ workers: 1, env: { SLUICE_AUTH_TOKEN: "s3cret-token" } });
  try {
    // Probes carry no token (a Kubernetes httpGet probe): they answer, saying only ok or why not.
    assert.equal((await call(secured.http, "GET", "/healthz")).status, 200);
    const ready = await call(secured.http, "GET", "/readyz");
    assert.ok(ready.status === 200 || ready.status === 503, `${ready.status}: ${ready.text}`);
    for (const path of ["/api/v1/jobs", "/api/v1/workers", "/api/v1/openapi.json", "/metrics"]) {
      const r = await call(secured.http, "GET", path);
      assertError(r, 401, "unauthorized");
      assert.equal(r.headers.get("www-authenticate"), "Bearer");
      assertError(await call(secured.http, "GET", path, { headers: { Authorization: "Bearer wrong" } }), 401);
      const ok = await call(secured.http, "GET", path, { headers: { Authorization: "Bearer s3cret-token" } });
      assert.equal(ok.status, 200, `${path}: ${ok.text}`);
    }
    assertError(await call(secured.http, "POST", "/api/v1/jobs", { body: counterSpec() }), 401);
  } finally {
    await secured.stop();
  }
});

test("sluice playground: an embedded cluster that serves the page and the API, prints the URL, stops on SIGTERM", async () => {
  const child = spawn(SLUICE, ["playground", "--http-listen", "127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const url = await waitFor("the playground's URL", async () => out.match(/playground on (http:\/\/127\.0\.0\.1:\d+\/)/)?.[1]);
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Sluice playground<\/title>/);
    const base = url.slice("http://".length, -1);
    const ready = await call(base, "GET", "/readyz");
    assert.equal(ready.status, 200, ready.text);
    const { status, json } = await call(base, "POST", "/api/v1/jobs", { body: counterSpec({ name: "embedded", count: 100, rate: 0 }) });
    assert.equal(status, 201);
    const events = await readEvents(base, json.id, (es) => es.some((e) => e.event === "end"));
    const records = events.filter((e) => e.event === "output").flatMap((e) => e.data.records);
    assert.equal(records.length, 100, "every stdout record of the finished job reached the stream");
    assert.equal(events.at(-1).data.state, "finished");
  } finally {
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, out);
});

test("a reader that stops reading its event stream does not hold the job back", async () => {
  const timed = async (watch) => {
    const { json: { id } } = await call(cluster.http, "POST", "/api/v1/jobs", { body: counterSpec({ name: `fast-${watch}`, count: 300000, rate: 0 }) });
    const abort = new AbortController();
    if (watch) {
      const response = await fetch(`http://${cluster.http}/api/v1/jobs/${id}/events`, { signal: abort.signal });
      await response.body.getReader().read();  // and never again
    }
    const info = await waitFor("the job to end", async () => {
      const r = (await call(cluster.http, "GET", `/api/v1/jobs/${id}`)).json;
      return ["finished", "failed", "canceled"].includes(r.state) ? r : null;
    }, 60000);
    abort.abort();
    assert.equal(info.state, "finished", info.reason);
    return info.endedAtMs - info.startedAtMs;
  };
  const alone = await timed(false);
  const stalled = await timed(true);
  // A shared, busy machine: the figure is in bench/RESULTS.md; here, no stall of the job.
  assert.ok(stalled < alone * 2 + 2000, `alone ${alone} ms, with a stalled reader ${stalled} ms`);
});
