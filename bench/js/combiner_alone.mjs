// The combiner alone (worker/js/runtime/combiner.js's add and flush), over pre-generated Nexmark
// bids (q11's bidders with session windows, or q5's auctions with sliding windows), keyed
// through KeyMemo as the driver does, flushed every 4,096 events. With ENCODE=1 the partials go
// through the exchange codec (codec.js Target.add and finish) as in the sending task. Prints CPU
// ms per pass (6 passes; the median leaves out the first). With a second combiner.js (e.g. from
// `git show main:worker/js/runtime/combiner.js > /tmp/old.js`), the two alternate pass by pass.
//
//   node --min-semi-space-size=16 --max-semi-space-size=16 bench/js/combiner_alone.mjs session|sliding [events] [old combiner.js]
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const load = (file) => vm.runInThisContext(fs.readFileSync(file, "utf8"), { filename: file });
const R = (name) => path.join(root, "worker/js/runtime", name);
const keys = load(R("keys.js")), nexmark = load(R("nexmark.js")), wc = load(R("window_config.js"));
const codec = load(R("codec.js"));
const which = process.argv[2] || "session";
const N = +(process.argv[3] || 5000000);
const libs = [["this", load(R("combiner.js"))]];
if (process.argv[4]) libs.unshift(["old", load(path.resolve(process.argv[4]))]);
const encode = process.env.ENCODE === "1";
const config = which === "session" ? { assigner: { type: "session", gap: 10000 }, function: "count" }
  : { assigner: { type: "sliding", size: 10000, slide: 2000 }, function: "count" };
const spec = { id: "w", name: "w", kind: "window", config, fns: {} };

const gen = nexmark.make({});
const memo = new keys.KeyMemo(128);
const B = 4096, batches = [];
for (let first = 0; first < N; first += B) {
  const b = { kg: [], ks: [], kv: [], rec: [], ts: [] };
  for (let i = first; i < first + B; i++) {
    const r = gen(i);
    if (r.type !== "bid") continue;
    const k = which === "session" ? r.bidder : r.auction;
    b.kg.push(memo.group(k)); b.ks.push(memo.string); b.kv.push(k); b.rec.push(r); b.ts.push(r.dateTime);
  }
  batches.push(b);
}

let sink = 0;
const target = new codec.Target(0, () => new Error("too big"));
function pass(lib) {
  const emit = encode ? (g, r, t) => { target.add(r, t); } : (g, r, t) => { sink += t; };
  const c = new lib.Combiner(spec, {}, wc, emit);
  let maxT = -Infinity;
  const t0 = process.cpuUsage();
  for (const b of batches) {
    c.begin(maxT - 1, false);
    for (let i = 0; i < b.ts.length; i++) {
      const t = b.ts[i];
      if (t > maxT) maxT = t;
      c.add(b.kg[i], b.ks[i], b.kv[i], b.rec[i], t);
    }
    c.flush();
    if (encode) sink += target.finish().length;
  }
  const u = process.cpuUsage(t0);
  return { ms: (u.user + u.system) / 1000, partials: c.partialsOut, raw: c.rawOut, bids: c.recordsIn };
}
const times = new Map(libs.map(([name]) => [name, []]));
for (let p = 0; p < 6; p++) {
  for (const [name, lib] of libs) {
    const r = pass(lib);
    times.get(name).push(r.ms);
    if (p === 0) console.log(`${name}: ${r.bids} bids, ${r.partials} partials, ${r.raw} as they are`);
  }
}
const median = (a) => a.slice(1).sort((x, y) => x - y)[(a.length - 2) >> 1];
for (const [name, t] of times) {
  console.log(`${name} ${which}${encode ? " encoded" : ""}: ${t.map((x) => x.toFixed(0)).join(" ")} ms; median ${median(t).toFixed(0)}`);
}
