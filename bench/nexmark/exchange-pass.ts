// The keyed exchange: Nexmark bids (q0-shaped records) through one hash exchange, keyed by
// auction, into a second task that passes them on to a discarding sink. With
// `sluice cluster --workers 2 --slots 1` the two tasks run in different worker processes.
import { Job, sources, sinks } from "@sluice/sdk";

const job = new Job("nexmark-exchange", { params: { events: 5_000_000 } });
job
  .source(sources.nexmark({ events: job.params.events }))
  .filter((e) => e.type === "bid")
  .name("bids")
  .keyBy((b) => b.auction)
  .process({ processElement: (bid, ctx) => ctx.emit(bid) })
  .name("pass-through")
  .sink(sinks.discard());
export default job;
