// Nexmark q0 (pass-through): every bid, unchanged. Measures the source + chain overhead.
import { Job, sources, sinks } from "@sluice/sdk";
import { eventsFromArgs } from "./params.js";

const events = eventsFromArgs();
const job = new Job("nexmark-q0", { params: { events } });
job.source(sources.nexmark({ events }))
  .filter((r) => r.type === "bid")
  .name("q0-bids")
  .sink(sinks.discard());
export default job;
