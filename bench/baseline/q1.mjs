// Nexmark q1 by hand: bids with the price in euros.
import { args } from "./nexmark.mjs";

const { events, event, emit, done } = args("q1");
for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type === "bid") {
    emit({ auction: e.auction, bidder: e.bidder, price: e.price * 0.908, dateTime: e.dateTime });
  }
}
done();
