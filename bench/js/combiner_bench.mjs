// What a keyed exchange with a combiner costs, in one Node process: Nexmark events -> bids ->
// key (q11's bidder, or q5's auction) -> then, by mode:
//   p1    the window operator at once (as a chained keyBy at parallelism 1)
//   gen   nothing (the generator and the keys alone)
//   raw   every bid through the exchange codec (encode, finish, decode) to the window operator
//   comb  through a combiner (worker/js/runtime/combiner.js), the codec, then processPartial
// and the watermark after every batch of 4,096 events. Keys go through keys.KeyMemo, as in the
// chain's driver. Prints the process's CPU ms, and of it the batches' flush + finish, their
// decode + window work, and the windows' firing (with ENCODE=1 the fired results are encoded
// for a second exchange too, as q5's are at parallelism 2).
//
//   node bench/js/combiner_bench.mjs p1|gen|raw|comb [session|sliding] [events]
//   ENCODE=1 node bench/js/combiner_bench.mjs comb sliding 5000000
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const load = (name) => {
  const file = path.join(root, "worker/js/runtime", name);
  return vm.runInThisContext(fs.readFileSync(file, "utf8"), { filename: file });
};
const codecE = load("codec.js"), codecD = load("codec_decode.js"), keys = load("keys.js");
const nexmark = load("nexmark.js"), windows = load("windows.js"), { TimerService } = load("timers.js");
const { Combiner } = load("combiner.js");
const runtime = { window_config: load("window_config.js"), window_slices: load("window_slices.js"), window_sessions: load("window_sessions.js") };
const mode = process.argv[2] || "p1";
const which = process.argv[3] || "session";
const N = +(process.argv[4] || 3000000);
const gen = nexmark.make({});
const table = new Map();
let wm = -Infinity, outs = 0;
const ctx = { params: {}, state: { get: (g, k) => table.get(k), put: (g, k, v) => table.set(k, v), delete: (g, k) => table.delete(k) },
  timers: new TimerService(), emit: (r, t) => { outs++; if (encodeFired) fired.add(r, t); }, emitLate: () => {}, now: () => 0, watermark: () => wm,
  stats: { lateDropped: 0, lateSideOutput: 0 }, runtime };
const config = which === "session" ? { assigner: { type: "session", gap: 10000 }, function: "count" }
  : { assigner: { type: "sliding", size: 10000, slide: 2000 }, function: "count" };
const spec = { id: "w", name: "w", kind: "window", config, fns: {} };
const op = windows.make(spec, ctx);
const keyOf = which === "session" ? (b) => b.bidder : (b) => b.auction;
const target = new codecE.Target(0, () => new Error("big"));
const comb = new Combiner(spec, {}, runtime.window_config, (kg, r, t) => target.add(r, t));
let maxT = -Infinity;
const B = 4096;
const keyMemo = new keys.KeyMemo(128), inMemo = new keys.KeyMemo(128);  // sender's, receiver's
const encodeFired = process.env.ENCODE === "1";
const fired = new codecE.Target(0, () => new Error("big"));
const t0 = process.cpuUsage();
let tEnc = 0, tDec = 0, tFire = 0;
for (let first = 0; first < N; first += B) {
  if (mode !== "p1") { target.reset(); comb.begin(maxT - 1, false); }
  for (let i = first; i < first + B; i++) {
    const r = gen(i);
    if (r.type !== "bid") continue;
    const t = r.dateTime; if (t > maxT) maxT = t;
    const kv = keyOf(r), kg = keyMemo.group(kv), ks = keyMemo.string;
    if (mode === "p1") op.processElement(0, kg, ks, kv, r, t);
    else if (mode === "gen") {}
    else if (mode === "raw") target.add(r, t);
    else comb.add(kg, ks, kv, r, t);
  }
  if (mode !== "p1" && mode !== "gen") {
    const a = process.cpuUsage();
    if (mode === "comb") comb.flush();
    const [header, nums, lens, texts] = target.finish();
    const joined = texts.join(""); const strs = []; let p = 0;
    for (let i = 0; i < lens.length; i++) { strs.push(joined.slice(p, p + lens[i])); p += lens[i]; }
    const b = process.cpuUsage(); tEnc += (b.user - a.user);
    const batch = codecD.decode(header, Float64Array.from(nums), strs);
    const at = batch.at, times = batch.times;
    for (let q = 0; q < batch.n; q++) {
      const r = at(q); let t = times === null ? undefined : times[q];
      if (r !== null && typeof r === "object" && r.__sluice_partial__ === 1) {
        const pk = r.key, pg = inMemo.group(pk);
        op.processPartial(pg, inMemo.string, pk, r.acc, t, r.end);
      } else {
        const kv = keyOf(r), kg = inMemo.group(kv);
        op.processElement(0, kg, inMemo.string, kv, r, t);
      }
    }
    tDec += process.cpuUsage().user - b.user;
  }
  wm = maxT - 1;
  const f = process.cpuUsage();
  op.onWatermark(wm);
  if (encodeFired) fired.finish();
  tFire += process.cpuUsage().user - f.user;
}
const u = process.cpuUsage(t0);
console.log(mode, which, ((u.user + u.system) / 1000).toFixed(0), "ms cpu;", "finish+flush", (tEnc/1000).toFixed(0), "decode+window", (tDec/1000).toFixed(0), "fire", (tFire/1000).toFixed(0), "outs", outs);
