// A worker killed with SIGKILL: the coordinator notices within its timeout (5 s by default),
// fails the worker's jobs with a reason naming the worker, and cancels their other tasks.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startCluster, makeProject, sluice, waitForStatus } from "./harness.mjs";

let cluster;
before(async () => {
  cluster = await startCluster({ workers: 2, slots: 2 });
});
after(async () => {
  await cluster?.stop();
});

test("a killed worker fails its job within the timeout and the surviving task is cancelled", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("survivor", { parallelism: 2 });
job.source(sources.generator({ rate: 2000 })).map((n: number) => n + 1).sink(sinks.discard());
export default job;
`,
  });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    // Wait until both tasks run, one on each worker.
    const runningTasks = (text) => (text.match(/ running /g) ?? []).length;
    await waitForStatus(id, cluster.address, (text) => runningTasks(text) === 2);

    const victim = cluster.processes[1]; // processes[0] is the coordinator
    const victimId = cluster.workerIds[0];
    const killedAt = Date.now();
    victim.kill("SIGKILL");

    const failed = await waitForStatus(id, cluster.address, (text) => /state:\s+failed/.test(text));
    const detectedAfter = Date.now() - killedAt;
    assert.ok(detectedAfter < 5000 + 1500, `detected after ${detectedAfter} ms`);
    assert.match(failed, new RegExp(`reason:.*${victimId}.*lost`));
    // The task on the surviving worker was cancelled, not left running.
    const survivor = cluster.workerIds[1];
    assert.match(failed, new RegExp(`canceled\\s+${survivor}`));

    // The surviving worker's slots are free again: a job needing both of them is accepted.
    const bounded = makeProject({
      "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("after-kill", { parallelism: 2 });
job.source(sources.generator({ count: 100 })).sink(sinks.collect());
export default job;
`,
    });
    try {
      const next = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: bounded.dir });
      assert.equal(next.code, 0, next.stderr);
      const done = await waitForStatus(next.stdout.trim(), cluster.address);
      assert.match(done, /state:\s+finished/);
      assert.doesNotMatch(done, new RegExp(victimId));
    } finally {
      bounded.cleanup();
    }
  } finally {
    project.cleanup();
  }
});

test("a worker that loses its coordinator cancels its running tasks", async () => {
  const { startServer } = await import("./harness.mjs");
  const processes = [];
  try {
    const coordinator = await startServer(
      ["coordinator", "--listen", "127.0.0.1:0"],
      /coordinator listening on (127\.0\.0\.1:\d+)/,
      "coordinator",
    );
    processes.push(coordinator.child);
    const address = coordinator.match[1];
    const worker = await startServer(
      ["worker", "--coordinator", address, "--coordinator-timeout", "1500"],
      /serving on \S+, metrics on (http:\/\/\S+)/,
      "worker",
    );
    processes.push(worker.child);
    const project = makeProject({
      "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("orphan", { parallelism: 2 });
job.source(sources.generator({ rate: 1000 })).sink(sinks.discard());
export default job;
`,
    });
    try {
      const submitted = await sluice(["submit", "job.ts", "-c", address], { cwd: project.dir });
      assert.equal(submitted.code, 0, submitted.stderr);
      await waitForStatus(submitted.stdout.trim(), address, (t) => (t.match(/ running /g) ?? []).length === 2);
    } finally {
      project.cleanup();
    }
    const running = async () =>
      Number((await (await fetch(worker.match[1])).text()).match(/^sluice_worker_tasks_running (\d+)/m)[1]);
    assert.equal(await running(), 2);
    coordinator.child.kill("SIGKILL");
    const deadline = Date.now() + 10000;
    while ((await running()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(await running(), 0, "the orphaned tasks kept running");
  } finally {
    for (const child of processes) child.kill("SIGKILL");
  }
});
