// Nexmark q1 (currency conversion): every bid with its price in euros, price * 0.908.
// Output record: { auction, bidder, price, dateTime } (price: a float, not rounded);
// the bid's type, channel, url and extra are dropped. (Flink's q1 also keeps `extra`,
// which this generator always sets to "".)
import { Job, sources, sinks } from "@sluice/sdk";
import { eventsFromArgs } from "./params.js";

const events = eventsFromArgs();
const job = new Job("nexmark-q1", { params: { events } });
job.source(sources.nexmark({ events }))
  .filter((r) => r.type === "bid")
  .name("q1-bids")
  .map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price * 0.908, dateTime: b.dateTime }))
  .name("q1-convert")
  .sink(sinks.discard());
export default job;
