// Nexmark q7 by hand: per tumbling window of 10 s, the bid with the highest price.
import { args } from "./nexmark.mjs";

const SIZE = 10_000;
const { events, event, emit, done } = args("q7");
let start = -Infinity, best = null;

function fire() {
  if (best !== null) {
    emit({ window: { start, end: start + SIZE }, auction: best.auction, bidder: best.bidder,
           price: best.price, dateTime: best.dateTime });
  }
}

for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type !== "bid") continue;
  const t = e.dateTime;
  if (t >= start + SIZE) {
    fire();
    start = t - (t % SIZE);
    best = null;
  }
  if (best === null || e.price > best.price) best = e;
}
fire();
done();
