// Keyed streams across worker processes: hash exchange, keyed running reduce, union and a
// parallelism change (rebalance), checked exactly.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { startCluster, makeProject, sluice, waitForStatus } from "./harness.mjs";

let cluster;
before(async () => {
  cluster = await startCluster({ workers: 3, slots: 2 });
});
after(async () => {
  await cluster?.stop();
});

const WORDS = 1_000_000;
const DISTINCT = 1013;

test("a keyed word count over 1,000,000 words at parallelism 3 on three workers is exact", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("word-count", { parallelism: 3, params: { words: ${WORDS}, distinct: ${DISTINCT} } });
job.source(sources.generator({ count: job.params.words, fn: (i: number, p) => "w" + ((i * 7919) % p.distinct) }))
  .map((w: string) => ({ word: w, count: 1 }))
  .keyBy((r) => r.word)
  .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
  .sink(sinks.file({ path: "counts.jsonl" }));
export default job;
`,
  });
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", cluster.address], { cwd: project.dir });
    assert.equal(submitted.code, 0, submitted.stderr);
    const id = submitted.stdout.trim();
    const status = await waitForStatus(id, cluster.address, undefined, 120000);
    assert.match(status, /state:\s+finished/, status);
    // Six tasks (source+map, reduce+sink, each at parallelism 3) over all three workers.
    for (const worker of cluster.workerIds) assert.match(status, new RegExp(worker));

    // Every update of every key arrives exactly once: 1,000,000 lines, and each word's last
    // count is how often it was generated.
    const expected = new Map();
    for (let i = 0; i < WORDS; i++) {
      const w = "w" + ((i * 7919) % DISTINCT);
      expected.set(w, (expected.get(w) ?? 0) + 1);
    }
    const finalCount = new Map();
    let lines = 0;
    for (let s = 0; s < 3; s++) {
      const file = join(project.dir, `counts.jsonl.${s}`);
      assert.ok(existsSync(file), `missing ${file}`);
      for (const line of readFileSync(file, "utf8").split("\n")) {
        if (line === "") continue;
        lines++;
        const { word, count } = JSON.parse(line);
        finalCount.set(word, Math.max(finalCount.get(word) ?? 0, count));
      }
    }
    assert.equal(lines, WORDS);
    assert.deepEqual(new Map([...finalCount].sort()), new Map([...expected].sort()));
  } finally {
    project.cleanup();
  }
});

test("union and a parallelism change (rebalance) deliver every record once", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("merge", { parallelism: 2 });
const evens = job.source(sources.generator({ count: 500, fn: (i: number) => i * 2 }));
const odds = job.source(sources.generator({ count: 500, fn: (i: number) => i * 2 + 1 })).parallelism(1);
evens.union(odds).map((n: number) => n * 10).parallelism(3).sink(sinks.collect());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    const got = result.stdout.trim().split("\n").map(Number).sort((a, b) => a - b);
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => i * 10));
  } finally {
    project.cleanup();
  }
});

test("broadcast sends every record to every parallel instance; rebalance to exactly one", async () => {
  const project = makeProject({
    "job.ts": `
import { Job, sources, sinks } from "@sluice/sdk";
const job = new Job("spread", { parallelism: 2 });
job.source(sources.generator({ count: 100 })).rebalance()
  .map((n: number) => n).broadcast()
  .map((n: number) => n).parallelism(3)
  .sink(sinks.collect());
export default job;
`,
  });
  try {
    const result = await sluice(["run", "job.ts"], { cwd: project.dir });
    assert.equal(result.code, 0, result.stderr);
    const got = result.stdout.trim().split("\n").map(Number).sort((a, b) => a - b);
    assert.deepEqual(got, Array.from({ length: 300 }, (_, i) => Math.floor(i / 3)));
  } finally {
    project.cleanup();
  }
});
