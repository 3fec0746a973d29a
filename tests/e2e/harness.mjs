// Helpers for the end-to-end suites: start real coordinator and worker processes, run the CLI,
// and make throwaway Node projects that install the SDK from sdk-ts/ like a user would.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SLUICE = process.env.SLUICE_BIN ?? join(REPO, "build/cli/sluice");
const require = createRequire(join(REPO, "sdk-ts/package.json"));
const esbuild = require("esbuild");

/** Runs a command to completion; resolves to { code, stdout, stderr }. */
function run(command, args, { cwd, env, timeoutMs = 60000 } = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")} did not end within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** Runs the CLI to completion; resolves to { code, stdout, stderr }. */
export function sluice(args, options) {
  return run(SLUICE, args, options);
}

/** Runs `node <script>`; resolves to { code, stdout, stderr }. */
export function node(script, options) {
  return run(process.execPath, [script], options);
}

/**
 * Polls `sluice status <id>` until `done(output)` holds (by default: the job has ended);
 * resolves to the last status output. Fails after `timeoutMs`.
 */
export async function waitForStatus(id, address, done = (text) => /state:\s+(finished|failed|canceled)/.test(text), timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  let status;
  while (Date.now() < deadline) {
    status = await sluice(["status", id, "--coordinator", address]);
    if (done(status.stdout)) return status.stdout;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} did not reach the expected state within ${timeoutMs} ms:\n${status?.stdout}${status?.stderr}`);
}

/**
 * Starts a long-running process and resolves once a line of its output matches `ready`; the
 * process's output so far is in `output()`. `env` adds to the environment.
 */
export function startServer(args, ready, what, env = {}) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(SLUICE, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let output = "";
    let timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} did not start within 20 s:\n${output}`));
    }, 20000);
    const onData = (d) => {
      output += d;
      const match = output.match(ready);
      if (match && timer !== undefined) {
        clearTimeout(timer);
        timer = undefined;
        resolvePromise({ child, match, output: () => output });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it was ready:\n${output}`));
    });
  });
}

/**
 * Starts a coordinator on a free loopback port and `workers` worker processes registered with
 * it. `stop()` kills them all (SIGKILL if SIGTERM is not enough). Workers get `workerArgs`; by
 * default they may use files below the system's temp folder, where makeProject puts projects.
 * `env` is added to every process's environment; `http` is the coordinator's HTTP API and
 * playground (host:port, a free port).
 */
export async function startCluster({ workers = 2, slots = 4, coordinatorArgs = [], workerArgs = ["--allow-path", tmpdir()], env = {} } = {}) {
  const outputs = [];
  const processes = [];
  const stop = async () => {
    await Promise.all(
      processes.map(
        (child) =>
          new Promise((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
            child.once("exit", () => {
              clearTimeout(timer);
              done();
            });
            child.kill("SIGTERM");
          }),
      ),
    );
  };
  try {
    const coordinatorStarted = await startServer(
      ["coordinator", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0", ...coordinatorArgs],
      /coordinator listening on (127\.0\.0\.1:\d+)\nmetrics on (http:\/\/\S+)\nplayground on http:\/\/([^/\s]+)\//,
      "coordinator",
      env,
    );
    const { child, match } = coordinatorStarted;
    processes.push(child);
    outputs.push(coordinatorStarted.output);
    const address = match[1];
    const http = match[3];
    const metrics = { coordinator: match[2], workers: [] };
    const workerIds = [];
    const workerAddresses = [];
    // Starts one more worker (e.g. in place of a killed one); resolves to its process.
    const startWorker = async () => {
      const started = await startServer(
        ["worker", "--coordinator", address, "--slots", String(slots), ...workerArgs],
        /worker (worker-\d+) serving on (\S+), metrics on (http:\/\/\S+)/,
        `worker ${workerIds.length}`,
        env,
      );
      processes.push(started.child);
      outputs.push(started.output);
      workerAddresses.push(started.match[2]);
      workerIds.push(started.match[1]);
      metrics.workers.push(started.match[3]);
      return started.child;
    };
    for (let i = 0; i < workers; i++) await startWorker();
    return { address, http, workerIds, workerAddresses, metrics, processes, outputs, stop, startWorker };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A throwaway Node project with the SDK installed from sdk-ts/ (a symlink, as `npm install
 * <path>` makes) and the given files; `.ts` files are also transpiled to `.mjs` next to them.
 */
export function makeProject(files) {
  const dir = mkdtempSync(join(tmpdir(), "sluice-e2e-"));
  mkdirSync(join(dir, "node_modules/@sluice"), { recursive: true });
  symlinkSync(join(REPO, "sdk-ts"), join(dir, "node_modules/@sluice/sdk"));
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
    if (name.endsWith(".ts")) {
      const js = esbuild.transformSync(text, { loader: "ts", format: "esm", target: "esnext" });
      writeFileSync(join(dir, name.replace(/\.ts$/, ".mjs")), js.code);
    }
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// The records file sinks wrote into `dir`: every line of every file whose name starts with
// `prefix`, parsed as JSON, file after file.
export function sinkRecords(dir, prefix) {
  const records = [];
  for (const file of readdirSync(dir).filter((f) => f.startsWith(prefix))) {
    for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
      if (line !== "") records.push(JSON.parse(line));
    }
  }
  return records;
}

// The completed-checkpoint count `sluice status` prints.
export const checkpointsCompleted = (text) => Number(text.match(/checkpoints: (\d+) completed/)?.[1] ?? 0);

// Submits a project of `files` (job.ts among them) to the cluster at `address` through the real
// CLI and returns the job id it prints; the project folder is removed either way.
export async function submitJob(address, files, extra = []) {
  const project = makeProject(files);
  try {
    const submitted = await sluice(["submit", "job.ts", "-c", address, ...extra], { cwd: project.dir });
    if (submitted.code !== 0) throw new Error("sluice submit failed: " + submitted.stderr);
    return submitted.stdout.trim();
  } finally {
    project.cleanup();
  }
}
