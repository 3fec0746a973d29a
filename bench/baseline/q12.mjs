// Nexmark q12 by hand: bids per bidder in tumbling windows of 10 s of processing time (the
// wall clock when the bid is counted). One map of bidder -> count for the open window; when the
// clock passes its end, or the events end, its counts are emitted.
import { args } from "./nexmark.mjs";

const SIZE = 10_000;
const { events, event, emit, done } = args("q12");
let start = -Infinity;
let counts = new Map();  // bidder -> bids in the window [start, start + SIZE)

function fire() {
  const window = { start, end: start + SIZE };
  for (const [key, value] of counts) emit({ key, window, value });
  counts = new Map();
}

for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type !== "bid") continue;
  const now = Date.now();
  if (now >= start + SIZE) {
    fire();
    start = now - (now % SIZE);
  }
  counts.set(e.bidder, (counts.get(e.bidder) ?? 0) + 1);
}
fire();
done();
