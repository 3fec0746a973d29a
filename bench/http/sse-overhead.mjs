// Does watching a job slow it down? Runs the same full-speed job (generator -> map -> stdout,
// parallelism 1; the worker's stdout goes to /dev/null) on one coordinator and one worker,
// alternating: nobody watching; a reader of its event stream that reads everything; a reader
// that connects and then stops reading (a stalled browser tab). Prints each run's duration and
// records/s, and the medians. The machine's load average is printed before and after.
//
//   node bench/http/sse-overhead.mjs [--records 3000000] [--runs 5]
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO, SLUICE } from "../../tests/e2e/harness.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RECORDS = arg("--records", 3000000);
const RUNS = arg("--runs", 5);
const { Job, sources, sinks } = await import(join(REPO, "sdk-ts/dist/index.js"));

function start(args, ready, stdout = "pipe") {
  return new Promise((resolve, reject) => {
    const child = spawn(SLUICE, args, { stdio: ["ignore", stdout, "pipe"] });
    let out = "";
    const on = (d) => {
      out += d;
      const m = out.match(ready);
      if (m) resolve({ child, m });
    };
    child.stdout?.on("data", on);
    child.stderr.on("data", on);
    child.on("exit", (c) => reject(new Error(`exited ${c}: ${out}`)));
  });
}

const coordinator = await start(["coordinator", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"],
  /coordinator listening on (\S+)\nmetrics on \S+\nplayground on http:\/\/([^/\s]+)\//);
const [, grpc, http] = coordinator.m;
const worker = await start(["worker", "--coordinator", grpc, "--slots", "4"], /worker \S+ serving on/, "ignore");

async function json(method, path, body) {
  const r = await fetch(`http://${http}${path}`, { method, headers: { "Content-Type": "application/json" }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return r.json();
}

function spec() {
  const job = new Job("sse-overhead");
  job.source(sources.generator({ count: RECORDS })).map((n) => ({ n, square: n * n })).sink(sinks.stdout());
  return job.toSpec();
}

// CPU seconds a process has used (user + system), from /proc: on a busy machine the wall time
// of a run mostly says how much CPU the others left us; the worker's CPU per record says whether
// watching made the job itself do more.
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function runOnce(mode) {
  const cpu0 = cpuSeconds(worker.child.pid);
  const coordinatorCpu0 = cpuSeconds(coordinator.child.pid);
  const { id } = await json("POST", "/api/v1/jobs", spec());
  const abort = new AbortController();
  let received = 0;
  if (mode !== "none") {
    const response = await fetch(`http://${http}/api/v1/jobs/${id}/events`, { signal: abort.signal });
    const reader = response.body.getReader();
    if (mode === "reading") {
      (async () => { try { for (;;) { const { value, done } = await reader.read(); if (done) break; received += value.length; } } catch {} })();
    } else {
      await reader.read();  // then never again: the socket's buffers fill up
    }
  }
  let info;
  for (;;) {
    info = await json("GET", `/api/v1/jobs/${id}`);
    if (["finished", "failed", "canceled"].includes(info.state)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  abort.abort();
  if (info.state !== "finished") throw new Error(`job ${id} ${info.state}: ${info.reason}`);
  const ms = info.endedAtMs - info.startedAtMs;
  const cpu = cpuSeconds(worker.child.pid) - cpu0;
  const coordinatorCpu = cpuSeconds(coordinator.child.pid) - coordinatorCpu0;
  return { ms, rate: RECORDS / (ms / 1000), received, cpuRate: RECORDS / cpu, coordinatorCpu };
}

const { loadavg } = await import("node:os");
console.log(`load average before: ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
const results = { none: [], reading: [], stalled: [] };
const cpuRates = { none: [], reading: [], stalled: [] };
const coordinatorCpus = { none: [], reading: [], stalled: [] };
try {
  await runOnce("none");  // warm-up
  for (let i = 0; i < RUNS; i++) {
    // The order rotates from run to run, so no mode always follows the same one.
    const modes = ["none", "reading", "stalled"];
    for (const mode of [...modes.slice(i % 3), ...modes.slice(0, i % 3)]) {
      const r = await runOnce(mode);
      results[mode].push(r.rate);
      cpuRates[mode].push(r.cpuRate);
      coordinatorCpus[mode].push(r.coordinatorCpu);
      console.log(`run ${i + 1} ${mode.padEnd(8)} ${r.ms} ms  ${Math.round(r.rate)} records/s  ${Math.round(r.cpuRate)} records/worker-CPU-s  coordinator ${r.coordinatorCpu.toFixed(2)} CPU-s${mode === "reading" ? `  (${(r.received / 1048576).toFixed(1)} MB of events read)` : ""}`);
    }
  }
} finally {
  worker.child.kill("SIGTERM");
  coordinator.child.kill("SIGTERM");
}
console.log(`load average after: ${loadavg().map((x) => x.toFixed(1)).join(" ")}`);
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results.none);
const cpuBase = median(cpuRates.none);
console.log(`\n| watcher | median records/s (wall) | vs nobody watching | median records per worker CPU-second | vs nobody watching | coordinator CPU-s per run |\n|---|---|---|---|---|---|`);
for (const mode of ["none", "reading", "stalled"]) {
  const m = median(results[mode]);
  const c = median(cpuRates[mode]);
  console.log(`| ${mode} | ${Math.round(m)} | ${(((m - base) / base) * 100).toFixed(1)} % | ${Math.round(c)} | ${(((c - cpuBase) / cpuBase) * 100).toFixed(1)} % | ${median(coordinatorCpus[mode]).toFixed(2)} |`);
}
