// A fast source behind a deliberately slow operator on another task: the inboxes, bounded in
// bytes by the workers' --inbox-mb, and the credits make the source wait, so every process's memory stays bounded and nothing is lost.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startCluster, makeProject, sluice, waitForStatus } from "./harness.mjs";

let cluster;
before(async () => {
  // A small inbox budget: 2 MB for all the tasks of a worker.
  cluster = await startCluster({ workers: 2, slots: 3, workerArgs: ["--allow-path", tmpdir(), "--inbox-mb", "2"] });
});
after(async () => {
  await cluster?.stop();
});

const RECORDS = 300_000;      // of about 2 KB each: about 600 MB if nothing held the source back
// Per process. What it holds at most: a few 8 MB batches (4096 records of 2 KB) per task in the
// inbox and in flight under credits, plus each task's V8 heap; measured about 260 MB for the
// busiest worker whether the input is 150,000 or 300,000 records (it does not grow with input).
const RSS_BOUND_MB = 300;

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) / 1024;
}

test("a slow operator slows the source: bounded memory everywhere, every record counted once", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("backpressure", { parallelism: 2, params: { n: ${RECORDS} } });
job.source(sources.generator({ count: job.params.n, fn: (i: number) => ({ i, pad: "x".repeat(2000) }) }))
  .map((r: { i: number; pad: string }) => {
    // Slow: about 3 ms of work every 300 records.
    if (r.i % 300 === 0) { const until = Date.now() + 3; while (Date.now() < until) {} }
    return 1;
  }).name("slow").parallelism(1)
  .keyBy(() => "all")
  .reduce((a: number, b: number) => a + b).name("count")
  .filter((n: number, p) => n >= p.n)
  .sink(sinks.file({ path: "count.jsonl" }));
export default job;
`,
  });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    let maxRss = 0;
    const perProcess = {};
    let maxBackpressure = 0;
    const sample = async () => {
      for (const child of cluster.processes) {
        const mb = rssMb(child.pid);
        maxRss = Math.max(maxRss, mb);
        perProcess[child.pid] = Math.max(perProcess[child.pid] ?? 0, Math.round(mb));
      }
      for (const url of cluster.metrics.workers) {
        const text = await (await fetch(url)).text();
        for (const m of text.matchAll(/^sluice_task_backpressure_seconds_total\{[^}]*\} (\S+)$/gm)) {
          maxBackpressure = Math.max(maxBackpressure, Number(m[1]));
        }
      }
    };
    const status = await waitForStatus(id, cluster.address, (text) => {
      void sample();
      return /state:\s+(finished|failed|canceled)/.test(text);
    }, 120000);
    await sample();
    assert.match(status, /state:\s+finished/, status);
    // Exactly one line reached the total, and none went past it (nothing lost or repeated).
    const lines = [0, 1]
      .map((s) => readFileSync(`${project.dir}/count.jsonl.${s}`, "utf8"))
      .join("")
      .split("\n")
      .filter((l) => l !== "");
    assert.deepEqual(lines, [String(RECORDS)]);
    console.log(`max RSS (MB) by pid: ${JSON.stringify(perProcess)}`);
    assert.ok(maxRss < RSS_BOUND_MB, `a process reached ${maxRss.toFixed(0)} MB RSS`);
    assert.ok(maxBackpressure > 0, "the source never waited for the slow operator");
  } finally {
    project.cleanup();
  }
});
