// Nexmark q11 by hand: per bidder, the bids in each session (a gap of 10 s without bids ends
// it). One open session per bidder; once a second of event time the sessions that ended are
// emitted (the events come in time order).
import { args } from "./nexmark.mjs";

const GAP = 10_000;
const { events, event, emit, done } = args("q11");
const sessions = new Map();  // bidder -> { start, end, count }
let nextSweep = -Infinity;

function sweep(t) {
  for (const [bidder, s] of sessions) {
    if (s.end < t) {
      emit({ key: bidder, window: { start: s.start, end: s.end }, value: s.count });
      sessions.delete(bidder);
    }
  }
}

for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type !== "bid") continue;
  const t = e.dateTime;
  if (t >= nextSweep) {
    sweep(t);
    nextSweep = t + 1000;
  }
  const s = sessions.get(e.bidder);
  if (s !== undefined && s.end >= t) {
    s.end = t + GAP;
    s.count++;
  } else {
    if (s !== undefined) emit({ key: e.bidder, window: { start: s.start, end: s.end }, value: s.count });
    sessions.set(e.bidder, { start: t, end: t + GAP, count: 1 });
  }
}
sweep(Infinity);
done();
