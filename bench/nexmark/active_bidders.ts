// Not a Nexmark query: two keyed windows on one key, for already partitioned keyBys.
// Bids are counted per bidder in 2 s tumbling windows; each bidder's counts are then summed over
// a sliding 10 s window every 2 s (its activity over the last 10 s). The counts are keyed again
// by their bidder, as a string: a selector Sluice does not see through, so at parallelism > 1
// the second window sits behind an exchange, unless `--param partitioned=true` marks the keyBy
// `{ partitioned: true }` and the second window runs in the first one's task. (With
// `(c) => c.key` Sluice would see that the counts keep their key and chain them unmarked.)
// Output: { key: bidder as a string, window, value: bids in 10 s }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

const job = new Job("active-bidders", { params: { events: 20_000_000, sink: "discard", partitioned: false } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((e) => e.type === "bid")
  .assignTimestamps((b) => b.dateTime)
  .keyBy((b) => b.bidder)
  .window(windows.tumbling("2s"))
  .count()
  .name("bids-per-bidder")
  .keyBy((c) => String(c.key), { partitioned: job.params.partitioned })
  .window(windows.sliding("10s", "2s"))
  .aggregate({ create: () => 0, add: (n, c) => n + c.value, merge: (a, b) => a + b })
  .name("bids-per-bidder-10s")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
