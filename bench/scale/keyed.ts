// The scale job: generator -> keyBy -> running reduce -> discard, at the parallelism given
// (`sluice submit -p`), so every generator subtask has a channel to every reduce subtask.
// bench/run-scale.sh runs it and samples the workers' threads and memory.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("scale-keyed", {
  params: { events: 2_000_000, keys: 10_000 },
});
job
  .source(sources.generator({ count: job.params.events, fn: (i: number, p) => ({ key: "k" + (i % p.keys), n: 1 }) }))
  .keyBy((r) => r.key)
  .reduce((a, b) => ({ key: a.key, n: a.n + b.n }))
  .sink(sinks.discard());
export default job;
