// Nexmark q1 (currency conversion): every bid with its price in euros, price * 0.908.
// Output record: { auction, bidder, price, dateTime } (price: a float, not rounded);
// the bid's type, channel, url and extra are dropped. (Flink's q1 also keeps `extra`,
// which this generator always sets to "".)
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("nexmark-q1", { params: { events: 20_000_000, sink: "discard" } });
job.source(sources.nexmark({ events: job.params.events }))
  .filter((r) => r.type === "bid")
  .name("q1-bids")
  .map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price * 0.908, dateTime: b.dateTime }))
  .name("q1-convert")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
