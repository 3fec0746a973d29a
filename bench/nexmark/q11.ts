// Nexmark q11 (user sessions): per bidder, the number of bids in each session of activity
// (event-time session windows with a 10 s gap). Output: { key: bidder, window, value: bids }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

const job = new Job("nexmark-q11", { params: { events: 20_000_000, sink: "discard" } });
userSessions(job);
export default job;

// The query on a Job with params events and sink (q11_checkpoints.ts runs it with checkpoints).
export function userSessions(job: Job<{ events: number; sink: string }>): void {
  job.source(sources.nexmark({ events: job.params.events }))
    .filter((e) => e.type === "bid")
    .assignTimestamps((b) => b.dateTime)
    .keyBy((b) => b.bidder)
    .window(windows.session("10s"))
    .count()
    .name("q11-sessions")
    .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
}
