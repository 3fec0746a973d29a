// Not a Nexmark query: two keyed windows on one key, for keyBy(fn, { partitioned: true }).
// Bids are counted per bidder in 2 s tumbling windows; each bidder's counts are then summed over
// a sliding 10 s window every 2 s (its activity over the last 10 s). The counts keep the
// bidder as their key, so the second keyBy may say { partitioned: true } (`--param
// partitioned=true`): at parallelism > 1 the second window then runs in the first one's task
// instead of behind an exchange. Output: { key: bidder, window, value: bids in 10 s }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

const job = new Job("active-bidders", { params: { events: 20_000_000, sink: "discard", partitioned: false } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((e) => e.type === "bid")
  .assignTimestamps((b) => b.dateTime)
  .keyBy((b) => b.bidder)
  .window(windows.tumbling("2s"))
  .count()
  .name("bids-per-bidder")
  .keyBy((c) => c.key, { partitioned: job.params.partitioned })
  .window(windows.sliding("10s", "2s"))
  .aggregate({ create: () => 0, add: (n, c) => n + c.value, merge: (a, b) => a + b })
  .name("bids-per-bidder-10s")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
