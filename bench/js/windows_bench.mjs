// Micro-benchmark of the window operator (worker/js/runtime/windows.js) in Node: 1M records with
// 10k keys through tumbling (10 s), sliding (10 s, slide 2 s) and session (gap 10 s: a key sees a
// record about every second, so nearly every record extends its key's session, as bidders do in
// Nexmark q11) event-time windows, with a watermark every 1,000 records (1 s bounded
// out-of-orderness), then the end of input.
// The state table is a Map per key group (the state cache finds a hit with one Map lookup by
// key string, and the put after a get with none); records, key strings and key groups are made
// before timing (upstream operators make them in a job).
//
//   node bench/js/windows_bench.mjs [records] [keys]
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const load = (name) => {
  const file = path.join(root, "worker/js/runtime", name);
  return vm.runInThisContext(fs.readFileSync(file, "utf8"), { filename: file });
};
const { TimerService } = load("timers.js");
const keysLib = load("keys.js");
const windows = load("windows.js");
const runtime = {
  window_config: load("window_config.js"),
  window_slices: load("window_slices.js"),
  window_sessions: load("window_sessions.js"),
};

const RECORDS = Number(process.argv[2] ?? 1_000_000);
const KEYS = Number(process.argv[3] ?? 10_000);
const MAX_PARALLELISM = 128;
const EVENTS_PER_MS = 10;      // 10k records per second of event time: 100 s for 1M records
const OUT_OF_ORDER_MS = 1000;
const WATERMARK_EVERY = 1000;
const BASE_TIME = 1_700_000_000_000;

// A deterministic input: keys uniform, timestamps up to 1 s late.
function makeInput() {
  let seed = 42;
  const random = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 4294967296;
  };
  const keyStrings = [], keyGroups = [];
  for (let k = 0; k < KEYS; k++) {
    keyStrings.push(keysLib.keyString(k));
    keyGroups.push(keysLib.keyGroupOf(k, MAX_PARALLELISM));
  }
  const key = new Int32Array(RECORDS), ts = new Float64Array(RECORDS), records = [];
  for (let i = 0; i < RECORDS; i++) {
    key[i] = Math.floor(random() * KEYS);
    ts[i] = BASE_TIME + Math.floor(i / EVENTS_PER_MS) - Math.floor(random() * OUT_OF_ORDER_MS);
    records.push({ auction: key[i], price: Math.floor(random() * 1000) });
  }
  return { keyStrings, keyGroups, key, ts, records };
}

function stateTable() {
  const groups = [];
  for (let g = 0; g < MAX_PARALLELISM; g++) groups.push(new Map());
  return {
    get: (keyGroup, keyString) => groups[keyGroup].get(keyString),
    put: (keyGroup, keyString, value) => void groups[keyGroup].set(keyString, value),
    delete: (keyGroup, keyString) => void groups[keyGroup].delete(keyString),
  };
}

function run(input, config, fns) {
  let watermark = -Infinity, emitted = 0;
  const ctx = {
    params: Object.freeze({}),
    state: stateTable(),
    timers: new TimerService(),
    emit: () => emitted++,
    emitLate: () => {},
    now: () => 0,
    watermark: () => watermark,
    stats: { lateDropped: 0, lateSideOutput: 0 },
    runtime,
  };
  const op = windows.make({ id: 1, name: "bench", kind: "window", config, fns }, ctx);
  const { keyStrings, keyGroups, key, ts, records } = input;
  let maxTs = -Infinity;
  const cpuStarted = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < RECORDS; i++) {
    const k = key[i], t = ts[i];
    op.processElement(0, keyGroups[k], keyStrings[k], k, records[i], t);
    if (t > maxTs) maxTs = t;
    if ((i + 1) % WATERMARK_EVERY === 0) {
      watermark = maxTs - OUT_OF_ORDER_MS;
      op.onWatermark(watermark);
    }
  }
  watermark = Infinity;
  op.onWatermark(Infinity);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (ctx.stats.lateDropped !== 0 || ctx.timers.size !== 0) {
    throw new Error("bench: records were late or timers are left");
  }
  return { seconds, cpuSeconds, emitted };
}

const input = makeInput();
const sum = { create: () => 0, add: (acc, r) => acc + r.price, merge: (a, b) => a + b };
const cases = [
  ["tumbling 10s, count", { assigner: { type: "tumbling", size: 10000 }, function: "count" }, {}],
  ["tumbling 10s, aggregate sum", { assigner: { type: "tumbling", size: 10000 },
                                    function: "aggregate" }, sum],
  ["sliding 10s/2s, count", { assigner: { type: "sliding", size: 10000, slide: 2000 },
                              function: "count" }, {}],
  ["sliding 10s/2s, aggregate sum", { assigner: { type: "sliding", size: 10000, slide: 2000 },
                                      function: "aggregate" }, sum],
  ["session 10s, count", { assigner: { type: "session", gap: 10000 }, function: "count" }, {}],
  ["session 10s, aggregate sum", { assigner: { type: "session", gap: 10000 },
                                   function: "aggregate" }, sum],
];
// Wall-clock records/s, and the process's CPU time per record (it includes V8's GC threads; on a
// busy machine it is the steadier figure).
console.log(`${RECORDS} records, ${KEYS} keys, node ${process.version}; best of 3 runs`);
for (const [name, config, fns] of cases) {
  let best;
  for (let r = 0; r < 3; r++) {
    const result = run(input, config, fns);
    if (best === undefined || result.seconds < best.seconds) best = result;
  }
  const perSecond = RECORDS / best.seconds;
  console.log(`${name.padEnd(32)} ${Math.round(perSecond).toLocaleString("en-US").padStart(12)} ` +
      `records/s  ${(1e9 / perSecond).toFixed(0).padStart(5)} ns/record  ` +
      `${(1e9 * best.cpuSeconds / RECORDS).toFixed(0).padStart(5)} ns CPU/record  ` +
      `${best.emitted} windows emitted`);
}
