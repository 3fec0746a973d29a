// Nexmark q0 (pass-through): every bid, unchanged. Measures the source + chain overhead.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("nexmark-q0", { params: { events: 20_000_000, sink: "discard" } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((r) => r.type === "bid")
  .name("q0-bids")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
