// Nexmark q12 (processing-time windows): per bidder, the number of bids in each tumbling
// window of 10 s of processing time. Output: { key: bidder, window, value: bids }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

const job = new Job("nexmark-q12", { params: { events: 20_000_000, sink: "discard" } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((e) => e.type === "bid")
  .keyBy((b) => b.bidder)
  .window(windows.tumbling("10s"), { time: "processing" })
  .count()
  .name("q12-counts")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
