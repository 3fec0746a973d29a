// The coordinator and large specs (issue 13, finding 7): a spec above --max-spec-bytes is
// refused with RESOURCE_EXHAUSTED naming its size and the limit, and many large submissions do
// not make the coordinator grow (an ended job's functions, configs and params are let go).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeProject, sluice, startCluster, waitForStatus } from "./harness.mjs";

/** A compiled spec (JSON) whose params carry `bytes` of text. */
function bigSpec(dir, bytes) {
  const file = join(dir, `job-${bytes}.json`);
  const spec = JSON.parse(
    execFileSync(process.execPath, [join(dir, "node_modules/@sluice/sdk/dist/cli/compile-job.js"), "job.ts"], { cwd: dir }),
  );
  spec.paramsJson = JSON.stringify({ blob: "x".repeat(bytes) });
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

const JOB = `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("big", { params: { blob: "" } });
job.source(sources.generator({ count: 1 })).sink(sinks.discard());
export default job;
`;

const rssKb = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]);

test("a spec above --max-spec-bytes is refused with RESOURCE_EXHAUSTED naming the size and the limit", async () => {
  const cluster = await startCluster({ workers: 1, coordinatorArgs: ["--max-spec-bytes", "1000000"] });
  const project = makeProject({ "job.ts": JOB });
  try {
    const file = bigSpec(project.dir, 2000000);
    const result = await sluice(["submit", file, "--coordinator", cluster.address]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /RESOURCE_EXHAUSTED: job 'big': its spec is 200\d{4} bytes, more than this coordinator's limit of 1000000 bytes \(--max-spec-bytes\)/);
    const list = await sluice(["list", "--coordinator", cluster.address]);
    assert.equal(list.stdout.trim().split("\n").length, 1, "nothing was accepted");
    // Below the limit it is accepted.
    const small = await sluice(["submit", bigSpec(project.dir, 500000), "--coordinator", cluster.address]);
    assert.equal(small.code, 0, small.stderr);
  } finally {
    project.cleanup();
    await cluster.stop();
  }
});

// A 6 MB spec is parsed on one of gRPC's threads; with glibc's default of one malloc arena per
// thread each kept its freed pages (about 200 MB after six submissions, then 2-8 MB more per
// submission). The coordinator runs with one arena (cli/main.cc): about 50 MB, flat.
test("the coordinator does not keep the large specs of ended jobs, nor grow with them", async () => {
  const cluster = await startCluster({ workers: 1 });
  const project = makeProject({ "job.ts": JOB });
  const coordinatorPid = cluster.processes[0].pid;
  try {
    const file = bigSpec(project.dir, 6 * 1024 * 1024);  // under the default limit of 8 MiB
    const submitAndFinish = async () => {
      const submitted = await sluice(["submit", file, "--coordinator", cluster.address]);
      assert.equal(submitted.code, 0, submitted.stderr);
      await waitForStatus(submitted.stdout.trim(), cluster.address, (t) => /state:\s+finished/.test(t));
    };
    // The first few bring the allocator to its working size; then it is flat.
    const warmUp = 6;
    for (let i = 0; i < warmUp; i++) await submitAndFinish();
    const warm = rssKb(coordinatorPid);
    const more = 12;
    for (let i = 0; i < more; i++) await submitAndFinish();
    const after = rssKb(coordinatorPid);
    const grownMb = (after - warm) / 1024;
    console.log(`coordinator RSS: ${warm} kB after ${warmUp}, ${after} kB after ${more} more (${grownMb.toFixed(1)} MB)`);
    // Keeping each spec would add 72 MB; per-thread arenas added 2-8 MB per submission.
    assert.ok(grownMb < 6, `the coordinator grew by ${grownMb.toFixed(1)} MB over ${more} submissions of 6 MB (${warm} kB -> ${after} kB)`);
    assert.ok(warm < 120 * 1024, `the coordinator holds ${(warm / 1024).toFixed(0)} MB after ${warmUp} submissions of 6 MB`);
    const list = await sluice(["list", "--coordinator", cluster.address]);
    assert.equal(list.stdout.trim().split("\n").length, 1 + warmUp + more, "every job is still listed");
  } finally {
    project.cleanup();
    await cluster.stop();
  }
});
