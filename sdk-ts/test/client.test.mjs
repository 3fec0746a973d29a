// submit() and JobHandle against a fake coordinator (a real gRPC server speaking
// proto/sluice/job_service.proto), and against an address where nothing listens.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { Job, connect, sinks, sources } from "../dist/index.js";
import { protoRoot } from "../dist/paths.js";

/** A port nothing listens on: bound, then released. */
async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

function smallJob(name = "small") {
  const job = new Job(name);
  job.source(sources.generator({ count: 3 })).map((x) => x * 10).sink(sinks.collect());
  return job;
}

test("submit to an address where nothing listens rejects quickly and plainly", async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const started = Date.now();
  await assert.rejects(smallJob().submit({ coordinator: address }), {
    message: `cannot reach the Sluice coordinator at ${address} (is it running?)`,
  });
  assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
});

test("the coordinator address defaults to $SLUICE_COORDINATOR, else 127.0.0.1:7070", async () => {
  const { defaultCoordinator } = await import("../dist/client.js");
  assert.equal(defaultCoordinator({}), "127.0.0.1:7070");
  assert.equal(defaultCoordinator({ SLUICE_COORDINATOR: "coord:9000" }), "coord:9000");
});

test("a job that cannot be built is refused before anything is sent", async () => {
  const outside = 1;
  const job = new Job("bad");
  job.source(sources.generator()).map((x) => x + outside).sink(sinks.discard());
  await assert.rejects(job.submit({ coordinator: "127.0.0.1:1" }), /refers to 'outside'/);
});

// --- a fake coordinator ---------------------------------------------------------------------

let server;
let address;
const submitted = [];
const jobs = new Map(); // id -> { info, records, polls }

before(async () => {
  const root = protoRoot();
  const definition = protoLoader.loadSync(join(root, "sluice", "job_service.proto"), {
    keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [root],
  });
  const { JobService } = grpc.loadPackageDefinition(definition).sluice.proto;
  server = new grpc.Server();
  server.addService(JobService.service, {
    SubmitJob({ request }, done) {
      submitted.push(request.spec);
      if (request.spec.name === "refuse-me") {
        done(null, {
          problems: [
            { operatorId: "op2", operatorName: "map#2", message: "the function does not compile: SyntaxError" },
            { operatorId: "", operatorName: "", message: "parallelism 9 exceeds maxParallelism 4" },
          ],
        });
        return;
      }
      const id = `job-${submitted.length}`;
      // "resumed": a job a restarted coordinator resumed, its collected results partial; its
      // task has a watermark and was back-pressured.
      const resumed = request.spec.name === "resumed";
      jobs.set(id, {
        info: { jobId: id, name: request.spec.name, state: "JOB_RUNNING", submittedAtMs: 1000, resultsPartial: resumed, tasks: [
          { taskId: "t1", operators: "source.generator#1 -> map#2 -> sink.collect#3", subtask: 0, workerId: "w1", state: "TASK_RUNNING", recordsIn: 5, recordsOut: 4,
            ...(resumed ? { watermark: 1700000000123, backpressuredMs: 2500 } : {}) },
        ] },
        partial: resumed,
        records: ["0", "10", '{"x":20}'],
        polls: 0,
      });
      done(null, { jobId: id });
    },
    GetJob({ request }, done) {
      const job = jobs.get(request.jobId);
      if (job === undefined) done({ code: grpc.status.NOT_FOUND, details: `no job ${request.jobId}` });
      else done(null, job.info);
    },
    ListJobs(_call, done) {
      done(null, { jobs: [...jobs.values()].map((j) => j.info) });
    },
    CancelJob({ request }, done) {
      const job = jobs.get(request.jobId);
      job.info = { ...job.info, state: "JOB_CANCELED", endedAtMs: 2000 };
      done(null, job.info);
    },
    GetResults({ request }, done) {
      // Hands out one record per call; the job ends after the last one was read.
      const job = jobs.get(request.jobId);
      job.polls++;
      const offset = request.offset;
      if (job.info.state === "JOB_CANCELED") {
        // A canceled job hands out nothing more and never sets `complete`.
        done(null, { records: [], nextOffset: offset, complete: false, state: job.info.state });
        return;
      }
      const records = job.records.slice(offset, offset + 1);
      const next = offset + records.length;
      const complete = next === job.records.length;
      if (complete) job.info = { ...job.info, state: "JOB_FINISHED", endedAtMs: 3000 };
      done(null, { records, nextOffset: next, complete, state: job.info.state, partial: job.partial });
    },
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  address = `127.0.0.1:${port}`;
});

after(() => server.forceShutdown());

test("submit sends the JobSpec and returns a handle with the job id", async () => {
  const job = smallJob("accepted");
  const handle = await job.submit({ coordinator: address });
  assert.equal(handle.id, `job-${submitted.length}`);
  assert.equal(handle.coordinator, address);
  const sent = submitted.at(-1);
  const spec = job.toSpec();
  assert.equal(sent.name, "accepted");
  assert.deepEqual(sent.operators.map((o) => [o.id, o.name, o.kind, o.configJson, o.functions]),
    spec.operators.map((o) => [o.id, o.name, o.kind, o.configJson, o.functions]));
  assert.deepEqual(sent.edges.map((e) => [e.from, e.to, e.partitioning]), [["op1", "op2", "FORWARD"], ["op2", "op3", "FORWARD"]]);
});

test("status() maps the wire JobInfo; results() waits for the end and parses every record", async () => {
  const handle = await smallJob("results").submit({ coordinator: address });
  const status = await handle.status();
  assert.deepEqual(status, {
    id: handle.id, name: "results", state: "running", submittedAt: 1000,
    tasks: [{ taskId: "t1", operators: "source.generator#1 -> map#2 -> sink.collect#3", subtask: 0, workerId: "w1", state: "running", recordsIn: 5, recordsOut: 4, backpressuredMs: 0, inPerSecond: 0, outPerSecond: 0 }],
    resultsPartial: false,
  });
  assert.deepEqual(await handle.results({ pollInterval: 1 }), [0, 10, { x: 20 }]);
  assert.equal(jobs.get(handle.id).polls, 3);
  const final = await handle.wait({ pollInterval: 1 });
  assert.equal(final.state, "finished");
  assert.equal(final.endedAt, 3000);
});

test("results() of a resumed job rejects unless allowPartial; status() has watermark and back-pressure", async () => {
  const handle = await smallJob("resumed").submit({ coordinator: address });
  const status = await handle.status();
  assert.equal(status.resultsPartial, true);
  assert.equal(status.tasks[0].watermark, 1700000000123);
  assert.equal(status.tasks[0].backpressuredMs, 2500);
  await assert.rejects(handle.results({ pollInterval: 1 }),
    new RegExp(`job ${handle.id} was resumed by a restarted coordinator.*only the 3 record\\(s\\) since the resume.*allowPartial: true`));
  assert.deepEqual(await handle.results({ pollInterval: 1, allowPartial: true }), [0, 10, { x: 20 }]);
});

test("cancel() returns the new status; connect() reaches a job by id", async () => {
  const handle = await smallJob("cancel-me").submit({ coordinator: address });
  const again = await connect(handle.id, { coordinator: address });
  assert.equal((await again.cancel()).state, "canceled");
  assert.equal((await handle.wait()).state, "canceled");
  assert.deepEqual(await handle.results({ pollInterval: 1 }), [], "an ended job with no more records is done");
});

test("a refused job rejects with every problem, each naming its operator", async () => {
  await assert.rejects(smallJob("refuse-me").submit({ coordinator: address }), {
    message:
      `the coordinator at ${address} refused job 'refuse-me':\n` +
      "  - operator 'map#2' (op2): the function does not compile: SyntaxError\n" +
      "  - parallelism 9 exceeds maxParallelism 4",
  });
});

test("an unknown job id gives the coordinator's answer", async () => {
  const handle = await connect("nope", { coordinator: address });
  await assert.rejects(handle.status(), /the Sluice coordinator at .* answered with an error: no job nope/);
});
