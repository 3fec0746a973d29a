// Nexmark q7 (highest bid): per tumbling window of 10 s event time, the bid with the highest
// price. Bids are first reduced per auction and window in parallel, then the per-auction
// maxima of each window are reduced to one (two-phase, so the work is not all on one key).
// Output: { window: { start, end }, auction, bidder, price, dateTime }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

type Bid = { auction: number; bidder: number; price: number; dateTime: number };
const job = new Job("nexmark-q7", { params: { events: 20_000_000, sink: "discard" } });
highestBid(job);
export default job;

// The query on a Job with params events and sink (q7_checkpoints.ts runs it with checkpoints).
export function highestBid(job: Job<{ events: number; sink: string }>): void {
  job.source(sources.nexmark({ events: job.params.events }))
    .filter((e) => e.type === "bid")
    .map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime }))
    .assignTimestamps((b: Bid) => b.dateTime)
    .keyBy((b: Bid) => b.auction % 64)
    .window(windows.tumbling("10s"))
    .reduce((a: Bid, b: Bid) => (b.price > a.price ? b : a))
    .name("q7-max-per-group")
    .keyBy((r) => r.window.start)
    .window(windows.tumbling("10s"))
    .reduce((a, b) => (b.value.price > a.value.price ? b : a))
    .name("q7-max")
    .map((r) => ({ window: r.value.window, ...r.value.value }))
    .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
}
