// Nexmark q5 (hot items): per sliding window (10 s, every 2 s) of event time, the auctions with
// the most bids. Bids are counted per auction and window, then the counts of each window are
// reduced to the greatest (ties keep every auction with the top count); the second stage's
// aggregate merges, so at parallelism > 1 each task folds its counts per window before the
// exchange.
// Output: { window: { start, end }, count, auctions: [ids] }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

const job = new Job("nexmark-q5", { params: { events: 20_000_000, sink: "discard" } });
hotItems(job);
export default job;

// The query on a Job with params events and sink (q5_checkpoints.ts runs it with checkpoints).
export function hotItems(job: Job<{ events: number; sink: string }>): void {
  job.source(sources.nexmark({ events: job.params.events }))
    .filter((e) => e.type === "bid")
    .assignTimestamps((b) => b.dateTime)
    .keyBy((b) => b.auction)
    .window(windows.sliding("10s", "2s"))
    .count()
    .name("q5-bids-per-auction")
    .keyBy((c) => c.window.end)
    .window(windows.tumbling("2s"))
    .aggregate({
    create: () => ({ start: 0, end: 0, count: 0, auctions: [] as number[] }),
    add: (top, c) => {
      if (c.value > top.count) return { start: c.window.start, end: c.window.end, count: c.value, auctions: [c.key as number] };
      if (c.value === top.count) top.auctions.push(c.key as number);
      return top;
    },
    // Two tops of one window: the greater count, or both auctions lists when the counts tie.
    // With it the counts cross the exchange at parallelism > 1 folded per window (a combiner).
    merge: (a, b) => {
      if (b.count > a.count) return { start: b.start, end: b.end, count: b.count, auctions: [...b.auctions] };
      if (b.count === a.count) for (const id of b.auctions) a.auctions.push(id);
      return a;
    },
  })
    .name("q5-hottest")
    .map((r) => ({ window: { start: r.value.start, end: r.value.end }, count: r.value.count, auctions: r.value.auctions }))
    .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
}
