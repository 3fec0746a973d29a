// A task's generated chain driver in Node, without the worker: the runtime libraries of a folder
// (worker/js/runtime, or a copy with a change to try), the driver that `sluice run --driver-dir`
// wrote and the job's compiled spec, run as the worker runs a generated source (batches of
// 4,096 events, time advanced every ~200 ms of wall time, the end of input). The state backend
// is an in-memory store. Prints the CPU time of the run (start-up excluded) and the records out.
// Two runtime folders alternating tell what a change to the runtime costs, with less noise than
// whole `sluice run`s (no start-up, no job compile); bench/RESULTS.md (branch q11c) used it with
// Node 18 over sluice's own libnode, so that V8 is the same version as in `sluice`.
//
//   build/cli/sluice run bench/nexmark/q11.ts --parallelism 1 --param events=1000 --driver-dir /tmp/d
//   node sdk-ts/dist/cli/compile-job.js bench/nexmark/q11.ts --parallelism 1 > /tmp/q11.json
//   node --max-semi-space-size=16 bench/js/driver_harness.mjs worker/js/runtime /tmp/d/*.js \
//     /tmp/q11.json 5000000
//
// (`--max-semi-space-size=16` gives Node the young generation a task's isolate has.) Only jobs
// whose first stage is a generated source (sources.nexmark) with one chain (parallelism 1).
import fs from "node:fs";
import path from "node:path";
import vm from "node:vm";

const [rtDir, driverFile, specFile, eventsArg] = process.argv.slice(2);
if (specFile === undefined) {
  console.error("usage: node driver_harness.mjs RUNTIME_DIR DRIVER.js SPEC.json [events]");
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(specFile, "utf8"));
const ops = spec.operators.filter((o) => !o.kind.startsWith("sink"));
if (ops[0].kind !== "source.nexmark") {
  throw new Error(specFile + ": the harness runs jobs whose source is sources.nexmark, not " +
      ops[0].kind);
}
const config = JSON.parse(ops[0].configJson);
if (eventsArg !== undefined) config.events = Number(eventsArg);
const EVENTS = config.events;

const load = (name, as = name) => vm.runInThisContext(
    fs.readFileSync(path.join(rtDir, name + ".js"), "utf8"), { filename: "sluice-runtime:" + as });
const KEYED_LIBS = ["windows", "window_config", "window_slices", "window_sessions", "keyed",
                    "joins", "process"];
const rt = { state: load("state"), timer_changes: load("timer_changes"), timers: load("timers") };
for (const name of KEYED_LIBS) rt[name] = load(name);
const fn = (source) => vm.runInThisContext("(" + source + "\n)");
const fns = ops.map((o) => {
  const r = {};
  for (const [role, source] of Object.entries(o.functions ?? {})) r[role] = fn(source);
  return r;
});
// The key function of each HASH edge, by the stage it leads into: the first is the chain's
// input key; a later keyed stage k gets its own copies of the keyed libraries (rt.stage<k>), as
// the worker gives it.
const inKeyFns = [], chainKeyFns = [];
for (const edge of spec.edges) {
  if (edge.keyFn === undefined) continue;
  const stage = ops.findIndex((o) => o.id === edge.to);
  if (inKeyFns.length === 0) {
    inKeyFns.push(fn(edge.keyFn));
  } else {
    chainKeyFns[stage] = fn(edge.keyFn);
    const copy = { ...rt };
    for (const name of KEYED_LIBS) copy[name] = load(name, name + "@" + stage);
    rt["stage" + stage] = copy;
  }
}
const store = new Map();
rt.stateNative = {
  get: (t, g, k) => store.get(t + "/" + g + "/" + k),
  write(flat) {
    for (let i = 0; i < flat.length; i += 4) {
      const id = flat[i] + "/" + flat[i + 1] + "/" + flat[i + 2];
      if (flat[i + 3] === null) store.delete(id);
      else store.set(id, flat[i + 3]);
    }
  },
  writeSnapshot(flat) {
    this.write(flat);
  },
  scan: () => [],
};
rt.stateEmpty = true;

const codec = { ...load("codec"), ...load("codec_decode") };
const stats = new Float64Array(16);
const driver = vm.runInThisContext(fs.readFileSync(driverFile, "utf8"),
                                   { filename: "sluice-runtime:driver" });
const run = driver({ fns, paramsJson: spec.paramsJson ?? "{}", sourceConfigJson: JSON.stringify(config),
                     nexmark: load("nexmark"), stats, keys: load("keys"), inKeyFns, outKeyFns: [],
                     codec, rt, chainKeyFns, linkKeyFns: [] });

const cpu0 = process.cpuUsage(), wall0 = performance.now();
let out = 0, advanced = performance.now();
for (let first = 0; first < EVENTS; first += 4096) {
  run(first, 1, Math.min(4096, EVENTS - first));
  out += stats[1];
  const now = performance.now();
  if (now - advanced > 200) {
    run.advance(-Infinity, Date.now());
    out += stats[1];
    advanced = now;
  }
}
run.advance(Infinity, Date.now());
out += stats[1];
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ events: EVENTS, out, cpuMs: Math.round((cpu.user + cpu.system) / 1000),
                             wallMs: Math.round(performance.now() - wall0) }));
