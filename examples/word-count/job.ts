// Word count, as in the API contract: split lines into words, count each word with a keyed
// running reduce (it emits the word's updated count after every occurrence), print the counts.
// Run it from this folder: `sluice run job.ts` (add `--parallelism 3` to spread it out).
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("word-count", { parallelism: 2 });
job
  .source(sources.file({ path: "input.txt" }))
  .flatMap((line: string) => line.split(/\s+/))
  .filter((w: string) => w.length > 0)
  .map((w: string) => ({ word: w.toLowerCase(), count: 1 }))
  .keyBy((r) => r.word)
  .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
  .sink(sinks.stdout());

export default job;
