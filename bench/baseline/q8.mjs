// Nexmark q8 by hand: people who opened an auction in the same tumbling 10 s window in which
// they registered. The open window's persons by id and auctions by seller; at the window's end
// (the events come in time order) every person meets the auctions of their id.
import { args } from "./nexmark.mjs";

const SIZE = 10_000;
const { events, event, emit, done } = args("q8");
let start = -Infinity;
let persons = new Map();   // id -> [name]
let auctions = new Map();  // seller -> [reserve]

function fire() {
  for (const [id, names] of persons) {
    const reserves = auctions.get(id);
    if (reserves === undefined) continue;
    for (const name of names) {
      for (const reserve of reserves) emit({ id, name, reserve, start });
    }
  }
  persons = new Map();
  auctions = new Map();
}

function add(map, key, value) {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type === "bid") continue;
  const t = e.dateTime;
  if (t >= start + SIZE) {
    fire();
    start = t - (t % SIZE);
  }
  if (e.type === "person") add(persons, e.id, e.name);
  else add(auctions, e.seller, e.reserve);
}
fire();
done();
