// Long words: reads a text file, splits it into words, keeps the long ones and prints each with
// its length. Run it with `sluice run job.ts` from this folder (scripts/quickstart.sh does).
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("long-words", { parallelism: 2, params: { minLength: 6 } });

job
  .source(sources.file({ path: "input.txt" }))
  .flatMap((line: string) => line.split(/[^A-Za-z']+/))
  .filter((word: string, params: { minLength: number }) => word.length >= params.minLength)
  .map((word: string) => ({ word: word.toLowerCase(), length: word.length }))
  .sink(sinks.stdout());

export default job;
