/**
 * `job.run()`: the embedded local run. Writes the JobSpec to a temporary file and starts
 * `sluice run <spec.json> --results <results.jsonl>`; the CLI runs a coordinator and a worker
 * in one process and writes the records of `sinks.collect()` as JSON lines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "./paths.js";
import type { JobSpec } from "./spec.js";

/** Options of `job.run()`. */
export interface RunOptions {
  /** The `sluice` binary (default: $SLUICE_BIN, the repository's build/cli/sluice, or `sluice` on PATH). */
  readonly bin?: string;
  /**
   * What happens to the CLI's standard output and error (stdout sink output, logs):
   * `"inherit"` (default) shows them, `"ignore"` drops them. The last line of standard error is
   * kept either way for the error message.
   */
  readonly stdio?: "inherit" | "ignore";
  /** Aborting stops the run (the CLI gets SIGTERM). */
  readonly signal?: AbortSignal;
}

/** Where the `sluice` binary is, and why that one (for error messages). */
export interface SluiceBinary {
  readonly path: string;
  readonly source: "option" | "SLUICE_BIN" | "build" | "PATH";
}

/**
 * Finds the `sluice` binary: the `bin` option, else $SLUICE_BIN, else
 * `<sdk-ts>/../build/cli/sluice` when it exists, else `sluice` on PATH.
 */
export function findSluiceBinary(
  bin: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  packageRoot: string = PACKAGE_ROOT,
): SluiceBinary {
  if (bin !== undefined && bin !== "") return { path: bin, source: "option" };
  const fromEnv = env.SLUICE_BIN;
  if (fromEnv !== undefined && fromEnv !== "") return { path: fromEnv, source: "SLUICE_BIN" };
  const built = join(packageRoot, "..", "build", "cli", "sluice");
  if (existsSync(built)) return { path: built, source: "build" };
  return { path: "sluice", source: "PATH" };
}

/** The CLI arguments of a local run. */
export function runArguments(specPath: string, resultsPath: string): string[] {
  return ["run", specPath, "--results", resultsPath];
}

/** Parses the results file (JSON lines; a missing file means no records). */
export async function readResults(resultsPath: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(resultsPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as unknown;
      } catch {
        throw new Error(`sluice run wrote a result that is not JSON (line ${i + 1}): ${line.slice(0, 200)}`);
      }
    });
}

/** Runs a built JobSpec with `sluice run` and returns the collected records. */
export async function runSpec(spec: JobSpec, options: RunOptions = {}): Promise<unknown[]> {
  const binary = findSluiceBinary(options.bin);
  const dir = await mkdtemp(join(tmpdir(), "sluice-run-"));
  try {
    const specPath = join(dir, "job.json");
    const resultsPath = join(dir, "results.jsonl");
    await writeFile(specPath, JSON.stringify(spec));
    await runCli(binary, runArguments(specPath, resultsPath), options);
    return await readResults(resultsPath);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runCli(binary: SluiceBinary, args: string[], options: RunOptions): Promise<void> {
  const show = (options.stdio ?? "inherit") === "inherit";
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(binary.path, args, {
        stdio: ["ignore", show ? "inherit" : "ignore", "pipe"],
        signal: options.signal,
        killSignal: "SIGTERM",
      });
    } catch (e) {
      reject(startError(binary, e as NodeJS.ErrnoException));
      return;
    }
    let tail = "";
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      if (show) process.stderr.write(chunk);
      tail = (tail + chunk).slice(-8192);
    });
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.name === "AbortError") reject(new Error("sluice run was aborted"));
      else reject(startError(binary, e));
    });
    child.on("close", (code, signal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const last = lastLine(tail);
      const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      const error = new Error(last !== "" ? last : `sluice run ${how}`) as Error & { exitCode?: number | null };
      error.exitCode = code;
      reject(error);
    });
  });
}

function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.length === 0 ? "" : lines[lines.length - 1]!;
}

function startError(binary: SluiceBinary, e: NodeJS.ErrnoException): Error {
  if (e.code === "ENOENT") {
    const where =
      binary.source === "PATH"
        ? "no 'sluice' on PATH; build it (cmake) or set SLUICE_BIN"
        : `no such file '${binary.path}'${binary.source === "SLUICE_BIN" ? " (from SLUICE_BIN)" : ""}`;
    return new Error(`cannot start the sluice binary: ${where}`);
  }
  if (e.code === "EACCES") return new Error(`cannot start the sluice binary '${binary.path}': permission denied`);
  return new Error(`cannot start the sluice binary '${binary.path}': ${e.message}`);
}
