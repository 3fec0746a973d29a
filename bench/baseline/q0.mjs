// Nexmark q0 by hand: every bid, unchanged.
import { args } from "./nexmark.mjs";

const { events, event, emit, done } = args("q0");
for (let n = 0; n < events; n++) {
  const e = event(n);
  if (e.type === "bid") emit(e);
}
done();
