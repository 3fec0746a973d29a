// Nexmark q2 by hand: bids on auctions whose id is a multiple of 123.
import { args } from "./nexmark.mjs";

const { events, event, emit, done } = args("q2");
for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type === "bid" && e.auction % 123 === 0) emit({ auction: e.auction, price: e.price });
}
done();
