// Made-up sentences from a generator (200 a second, unbounded): split into words, keep the long
// ones, count each word with a keyed running reduce and print the counts as they change.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("counting-words", { parallelism: 2, params: { minLength: 4 } });

job
  .source(sources.generator({
    rate: 200,
    fn: (i: number) => ["the quick brown fox", "jumps over the lazy dog", "streams never sleep"][i % 3],
  }))
  .flatMap((line: string) => line.split(" "))
  .filter((word: string, params: { minLength: number }) => word.length >= params.minLength)
  .map((word: string) => ({ word, count: 1 }))
  .keyBy((r) => r.word)
  .reduce((a, b) => ({ word: a.word, count: a.count + b.count }))
  .sink(sinks.stdout());

export default job;
