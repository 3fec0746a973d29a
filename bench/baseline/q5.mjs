// Nexmark q5 by hand: bids per auction in sliding windows of 10 s every 2 s, and per window the
// auctions with the most bids. One map of auction -> count per open window; a window is emitted
// when event time passes its end (the events come in time order).
import { args } from "./nexmark.mjs";

const SIZE = 10_000, SLIDE = 2_000;
const { events, event, emit, done } = args("q5");
const open = new Map();  // window end -> Map(auction -> bids)

function fire(end) {
  const counts = open.get(end);
  open.delete(end);
  let count = 0, auctions = [];
  for (const [auction, n] of counts) {
    if (n > count) {
      count = n;
      auctions = [auction];
    } else if (n === count) {
      auctions.push(auction);
    }
  }
  emit({ window: { start: end - SIZE, end }, count, auctions });
}

let nextEnd = Infinity;  // the earliest open window's end
for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type !== "bid") continue;
  const t = e.dateTime;
  while (t >= nextEnd) {
    fire(nextEnd);
    nextEnd = open.size > 0 ? Math.min(...open.keys()) : Infinity;
  }
  const last = t - (t % SLIDE);  // the latest window's start
  for (let start = last; start > t - SIZE; start -= SLIDE) {
    const end = start + SIZE;
    let counts = open.get(end);
    if (counts === undefined) {
      counts = new Map();
      open.set(end, counts);
      if (end < nextEnd) nextEnd = end;
    }
    counts.set(e.auction, (counts.get(e.auction) || 0) + 1);
  }
}
for (const end of [...open.keys()].sort((a, b) => a - b)) fire(end);
done();
