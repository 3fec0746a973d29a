// Nexmark q3 by hand: auctions of category 10 by sellers living in OR, ID or CA, with the
// seller's name, city and state. Persons of those states by id, and the auctions still waiting
// for their seller, in two maps.
import { args } from "./nexmark.mjs";

const { events, event, emit, done } = args("q3");
const persons = new Map();  // id -> person (OR, ID or CA)
const waiting = new Map();  // seller -> [auction ids] that came before their seller

for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type === "person") {
    if (e.state !== "OR" && e.state !== "ID" && e.state !== "CA") continue;
    persons.set(e.id, e);
    const ids = waiting.get(e.id);
    if (ids === undefined) continue;
    waiting.delete(e.id);
    for (const id of ids) emit({ name: e.name, city: e.city, state: e.state, id });
  } else if (e.type === "auction" && e.category === 10) {
    const p = persons.get(e.seller);
    if (p !== undefined) {
      emit({ name: p.name, city: p.city, state: p.state, id: e.id });
    } else {
      const ids = waiting.get(e.seller);
      if (ids === undefined) waiting.set(e.seller, [e.id]);
      else ids.push(e.id);
    }
  }
}
done();
