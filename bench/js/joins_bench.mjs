// The window join of q8 alone: the persons and auctions of N Nexmark events (made before the
// clock starts) through joins.js's tumbling 10 s window join, with the state cache in front of a
// fresh backend that holds nothing (state.js), the window libraries in ctx.runtime and the
// watermark moved every 64 records; CPU ms per pass, GC included. One joins.js per process (a
// shared heap makes one file's garbage another's cost): alternate files from the shell.
//   node --max-semi-space-size=16 --min-semi-space-size=16 bench/js/joins_bench.mjs [joins.js] [events]
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../worker/js/runtime");
const load = (file) => vm.runInThisContext(fs.readFileSync(file, "utf8"), { filename: file });
const lib = (name) => load(path.join(dir, name));
const nexmark = lib("nexmark.js"), keys = lib("keys.js"), { TimerService } = lib("timers.js");
const { StateTables } = lib("state.js");
const runtime = { window_config: lib("window_config.js"), window_slices: lib("window_slices.js") };
const joinsFile = process.argv[2] || path.join(dir, "joins.js");
const joins = load(joinsFile);
const events = Number(process.argv[3] || 5_000_000);
const PASSES = 5;

const gen = nexmark.make({});
const records = [];  // input, key, name or reserve, time
for (let n = 0; n < events; n++) {
  const e = gen(n);
  if (e.type === "person") records.push(0, e.id, e.name, e.dateTime);
  else if (e.type === "auction") records.push(1, e.seller, e.reserve, e.dateTime);
}

function pass() {
  const native = { get: () => undefined, write() {}, writeSnapshot() {}, scan: () => [] };
  let watermark = -Infinity, out = 0;
  const ctx = {
    params: {}, state: new StateTables(native, { fresh: true }).table(0), timers: new TimerService(),
    emit: () => out++, emitLate() {}, now: () => 0, watermark: () => watermark,
    stats: { lateDropped: 0, lateSideOutput: 0 }, runtime,
  };
  const op = joins.make({ id: "op8", name: "q8-join", kind: "window_join",
                          config: { assigner: { type: "tumbling", size: 10_000 } },
                          fns: { apply: (p, a, w) => ({ id: p.id, name: p.name, reserve: a.reserve, start: w.start }) } },
                        ctx);
  const memo = new keys.KeyMemo(128);
  const t0 = process.cpuUsage();
  for (let i = 0; i < records.length; i += 4) {
    const input = records[i], key = records[i + 1], t = records[i + 3];
    const r = input === 0 ? { id: key, name: records[i + 2] } : { seller: key, reserve: records[i + 2] };
    const keyGroup = memo.group(key);
    op.processElement(input, keyGroup, memo.string, key, r, t);
    if ((i & 255) === 0) {
      watermark = t - 1;
      op.onWatermark(watermark);
    }
  }
  watermark = Infinity;
  op.onWatermark(watermark);
  const cpu = process.cpuUsage(t0);
  return [(cpu.user + cpu.system) / 1000, out];
}

const times = [];
let outs = 0;
for (let p = 0; p < PASSES; p++) [times[p], outs] = pass();
times.sort((a, b) => a - b);
console.log(`${path.basename(joinsFile)}: ${records.length / 4} records of ${events} events, ` +
            `${outs} out, CPU ms per pass median ${times[PASSES >> 1].toFixed(0)} ` +
            `(${times[0].toFixed(0)}-${times[PASSES - 1].toFixed(0)})`);
