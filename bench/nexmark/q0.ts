// Nexmark q0 (pass-through): every bid, unchanged. Measures the source + chain overhead.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("nexmark-q0", { params: { events: 20_000_000 } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((r) => r.type === "bid")
  .name("q0-bids")
  .sink(sinks.discard());
export default job;
