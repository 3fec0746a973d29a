// Nexmark q2 (selection): the bids on auctions whose id is a multiple of 123,
// projected to { auction, price }.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("nexmark-q2", { params: { events: 20_000_000, sink: "discard" } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((r) => r.type === "bid" && r.auction % 123 === 0)
  .name("q2-select")
  .map((b) => ({ auction: b.auction, price: b.price }))
  .name("q2-project")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
