// Nexmark q8 (monitor new users): people who opened an auction in the same tumbling 10 s
// window of event time in which they registered: a window join of new persons and auctions on
// person id = seller. Output: { id, name, reserve, start }.
import { Job, sources, sinks, windows } from "@sluice/sdk";

const job = new Job("nexmark-q8", { params: { events: 20_000_000, sink: "discard" } });
newUsers(job);
export default job;

// The query on a Job with params events and sink (q8_checkpoints.ts runs it with checkpoints).
export function newUsers(job: Job<{ events: number; sink: string }>): void {
  const events = job.source(sources.nexmark({ events: job.params.events }))
    .filter((e) => e.type !== "bid")
    .assignTimestamps((e) => e.dateTime);
  const persons = events.filter((e) => e.type === "person").map((p) => ({ id: p.id, name: p.name }));
  const auctions = events.filter((e) => e.type === "auction").map((a) => ({ seller: a.seller, reserve: a.reserve }));
  persons.keyBy((p) => p.id)
    .join(auctions.keyBy((a) => a.seller))
    .window(windows.tumbling("10s"))
    .apply((p, a, w) => ({ id: p.id, name: p.name, reserve: a.reserve, start: w.start }))
    .name("q8-join")
    .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
}
