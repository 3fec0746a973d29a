// Nexmark q3 (local item suggestion): auctions of category 10 by sellers living in OR, ID or
// CA, with the seller's name, city and state: an unbounded join of persons and auctions on
// person id = seller, as a keyed process function (the person is kept in value state; an
// auction that arrives before its seller waits in map state).
// Output: { name, city, state, id }.
import { Job, sources, sinks } from "@sluice/sdk";

type Row = { kind: "p"; id: number; name: string; city: string; state: string } | { kind: "a"; id: number; seller: number };
const job = new Job("nexmark-q3", { params: { events: 20_000_000, sink: "discard" } });
const events = job.source(sources.nexmark({ events: job.params.events })).filter((e) => e.type !== "bid");
const persons = events
  .filter((e) => e.type === "person" && (e.state === "OR" || e.state === "ID" || e.state === "CA"))
  .map((p): Row => ({ kind: "p", id: p.id, name: p.name, city: p.city, state: p.state }));
const auctions = events
  .filter((e) => e.type === "auction" && e.category === 10)
  .map((a): Row => ({ kind: "a", id: a.id, seller: a.seller }));
persons.union(auctions)
  .keyBy((r: Row) => (r.kind === "p" ? r.id : r.seller))
  .process({
    processElement(r: Row, ctx) {
      const person = ctx.value<Row>("person");
      if (r.kind === "p") {
        person.update(r);
        const waiting = ctx.map<number>("waiting");
        for (const id of waiting.values()) ctx.emit({ name: r.name, city: r.city, state: r.state, id });
        waiting.clear();
        return;
      }
      const p = person.value();
      if (p !== undefined && p.kind === "p") ctx.emit({ name: p.name, city: p.city, state: p.state, id: r.id });
      else ctx.map<number>("waiting").put(String(r.id), r.id);
    },
  })
  .name("q3-join")
  .sink(job.params.sink === "stdout" ? sinks.stdout() : sinks.discard());
export default job;
