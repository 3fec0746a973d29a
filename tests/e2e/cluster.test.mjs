// A coordinator and two worker processes; jobs submitted through the SDK from a TypeScript
// program in a Node project, and through the CLI.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCluster, makeProject, node, sluice, waitForStatus } from "./harness.mjs";

let cluster;
before(async () => {
  cluster = await startCluster({ workers: 2, slots: 4 });
});
after(async () => {
  await cluster?.stop();
});

const DRIVER = `
import { Job, sources, sinks } from "@sluice/sdk";

interface Item { id: number; word: string }

const job = new Job("e2e-sdk", { parallelism: 2, params: { factor: 3 } });
job
  .source(sources.generator({ count: 10000, fn: (i: number): Item => ({ id: i, word: "w" + (i % 7) }) }))
  .filter((r: Item) => r.id % 2 === 0)
  .map((r: Item, params) => ({ id: r.id, value: r.id * params.factor, word: r.word }))
  .flatMap((r) => (r.word === "w0" ? [r, { ...r, id: -r.id }] : [r]))
  .sink(sinks.collect());

const handle = await job.submit({ coordinator: process.env.SLUICE_COORDINATOR });
const results = await handle.results();
const status = await handle.status();
console.log(JSON.stringify({ id: handle.id, state: status.state, results }));
`;

function expectedResults() {
  const out = [];
  for (let i = 0; i < 10000; i += 2) {
    const r = { id: i, value: i * 3, word: "w" + (i % 7) };
    out.push(r);
    if (r.word === "w0") out.push({ ...r, id: -r.id });
  }
  // Records travel as JSON (so the -0 of id 0 arrives as 0).
  return JSON.parse(JSON.stringify(out));
}

const byId = (a, b) => a.id - b.id || a.value - b.value;

test("a TypeScript program submits a job through the SDK and gets exactly the expected results", async () => {
  const project = makeProject({ "driver.ts": DRIVER });
  try {
    const run = await node("driver.mjs", {
      cwd: project.dir,
      env: { SLUICE_COORDINATOR: cluster.address },
    });
    assert.equal(run.code, 0, run.stderr);
    const { id, state, results } = JSON.parse(run.stdout.trim().split("\n").pop());
    assert.equal(state, "finished");
    assert.deepEqual([...results].sort(byId), expectedResults().sort(byId));

    // Its two tasks ran on the two worker processes.
    const status = await sluice(["status", id, "--coordinator", cluster.address]);
    assert.equal(status.code, 0, status.stderr);
    for (const worker of cluster.workerIds) assert.match(status.stdout, new RegExp(worker));
    assert.match(status.stdout, /state:\s+finished/);

    // Every process serves Prometheus text; the coordinator's counts add up to the job's.
    const coordinatorMetrics = await (await fetch(cluster.metrics.coordinator)).text();
    assert.match(coordinatorMetrics, /^sluice_workers 2$/m);
    assert.match(coordinatorMetrics, /^sluice_jobs\{state="JOB_FINISHED"\} [1-9]/m);
    const outs = [...coordinatorMetrics.matchAll(
      new RegExp(`^sluice_job_task_records_out_total\\{job="${id}",task="[^"]+"\\} (\\d+)$`, "gm"))];
    assert.equal(outs.length, 2);
    assert.equal(outs.reduce((sum, m) => sum + Number(m[1]), 0), expectedResults().length);
    for (const url of cluster.metrics.workers) {
      const text = await (await fetch(url)).text();
      assert.match(text, /^sluice_worker_slots 4$/m);
      assert.match(text, /^# TYPE sluice_worker_tasks_running gauge$/m);
    }
  } finally {
    project.cleanup();
  }
});

function jobFile(body, options) {
  return `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("bad-function", ${options});
job.source(sources.generator({ count: 100000 }))
  ${body}
  .sink(sinks.discard());
export default job;
`;
}

async function submitAndWait(file, cwd) {
  const submitted = await sluice(["submit", file, "--coordinator", cluster.address], { cwd });
  assert.equal(submitted.code, 0, submitted.stderr);
  const id = submitted.stdout.trim();
  const text = await waitForStatus(id, cluster.address);
  return { id, state: text.match(/state:\s+(\w+)/)[1], text };
}

test("a function that throws fails its job with the operator, the JS message and the line; workers survive", async () => {
  const project = makeProject({
    "job.ts": jobFile(
      `.map((n: number) => {
        const half = n / 2;
        if (n === 777) throw new Error("unlucky number " + n);
        return half;
      })
      .name("halve")`,
      "{ parallelism: 2 }",
    ),
  });
  try {
    const { state, text } = await submitAndWait("job.ts", project.dir);
    assert.equal(state, "failed");
    assert.match(text, /halve/);
    assert.match(text, /unlucky number 777/);
    assert.match(text, /line 3/);
  } finally {
    project.cleanup();
  }
});

test("a function that never returns is stopped by the call time limit; workers survive", async () => {
  const project = makeProject({
    "job.ts": jobFile(`.map((n: number) => { while (n >= 0) { n = n + 1; } return n; }).name("spin")`,
      `{ parallelism: 2, callTimeout: "500ms" }`),
  });
  try {
    const { state, text } = await submitAndWait("job.ts", project.dir);
    assert.equal(state, "failed");
    assert.match(text, /spin/);
    assert.match(text, /500 ms/);
  } finally {
    project.cleanup();
  }
});

test("a function that allocates without bound is stopped by the heap limit; workers survive", async () => {
  const project = makeProject({
    "job.ts": jobFile(
      `.map((n: number) => { const hoard: number[][] = []; while (true) { hoard.push(new Array(100000).fill(n)); } return hoard.length; }).name("hoard")`,
      `{ parallelism: 2, heapLimitMb: 64 }`,
    ),
  });
  try {
    const { state, text } = await submitAndWait("job.ts", project.dir);
    assert.equal(state, "failed");
    assert.match(text, /heap limit/);
  } finally {
    project.cleanup();
  }
});

test("after the failures, both workers still run jobs to completion", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("after-failures", { parallelism: 2 });
job.source(sources.generator({ count: 1000 })).map((n: number) => n * 2).sink(sinks.collect());
export default job;
`,
  });
  try {
    const { state, id } = await submitAndWait("job.ts", project.dir);
    assert.equal(state, "finished");
    const list = await sluice(["list", "--coordinator", cluster.address]);
    assert.match(list.stdout, new RegExp(`${id}\\s+finished`));
    assert.match(list.stdout, /failed/);
  } finally {
    project.cleanup();
  }
});

test("an unbounded job runs until cancelled from the CLI", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("forever", { parallelism: 2 });
job.source(sources.generator({ rate: 1000 })).sink(sinks.discard());
export default job;
`,
  });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    await waitForStatus(id, cluster.address, (text) => /state:\s+running/.test(text));
    const canceled = await sluice(["cancel", id, "-c", cluster.address]);
    assert.equal(canceled.code, 0, canceled.stderr);
    assert.match(canceled.stdout, new RegExp(`${id} canceled`));
    const after = await sluice(["status", id, "-c", cluster.address]);
    assert.match(after.stdout, /state:\s+canceled/);
  } finally {
    project.cleanup();
  }
});
