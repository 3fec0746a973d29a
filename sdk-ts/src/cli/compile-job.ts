#!/usr/bin/env node
/**
 * The job compiler of the `sluice` CLI:
 *
 *   node compile-job.js <job.ts|job.js> [--parallelism N] [--param k=v ...]
 *
 * bundles the job file with esbuild, imports it, takes its default export (a Job), applies the
 * overrides and prints the JobSpec as one line of JSON on standard output (exit 0). On failure
 * it prints a clear message on standard error and exits 1: one line, except for the problems
 * of the job's functions, one per line.
 *
 * `import ... from "@sluice/sdk"` resolves to the job folder's own installed SDK when there is
 * one, else to this SDK, so a job file in a folder without node_modules compiles.
 */
import type { Message, Plugin } from "esbuild";
import { mkdtempSync, realpathSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { COMPILING, FUNCTION_MEMO, PARAM_OVERRIDES, PARAM_TEXTS } from "../brand.js";
import { isJob } from "../index.js";
import { applyParams, ParamError } from "../params.js";
import type { JobSpec } from "../spec.js";
import {
  checksOf,
  FunctionMemoStore,
  openSlot,
  readEntry,
  writeBundle,
  type BundleSlot,
  type Check,
  type FunctionRecords,
  type Metafile,
  type SdkImport,
} from "./bundle-cache.js";

const require = createRequire(import.meta.url);
/**
 * esbuild, loaded on the first bundle only (a cached bundle needs none). A CommonJS package:
 * required, not imported, because an ES import of it makes Node scan its ~100 KB main file for
 * named exports first (cjs-module-lexer: ~20 ms of CPU).
 */
function esbuild(): typeof import("esbuild") {
  return require("esbuild") as typeof import("esbuild");
}

/** The parsed command line. */
export interface CompileArgs {
  readonly jobFile: string;
  readonly parallelism?: number;
  /** `--param key=value`: the key and the value's text (read as the default's type later). */
  readonly params: ReadonlyArray<readonly [string, string]>;
}

/** A failure with the message to print (already user-facing). */
export class CompileError extends Error {}

const USAGE = "usage: compile-job <job.ts|job.js> [--parallelism N] [--param key=value ...]";

/** Parses the arguments after `compile-job`. */
export function parseArgs(argv: readonly string[]): CompileArgs | "help" {
  let jobFile: string | undefined;
  let parallelism: number | undefined;
  const params: Array<readonly [string, string]> = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf("=");
    if (arg.startsWith("--") && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new CompileError(`${arg} needs a value; ${USAGE}`);
      return next;
    };
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--parallelism") {
      const text = value();
      const n = Number(text);
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) {
        throw new CompileError(`--parallelism must be an integer >= 1, got '${text}'`);
      }
      parallelism = n;
    } else if (arg === "--param") {
      params.push(parseParam(value()));
    } else if (arg.startsWith("-")) {
      throw new CompileError(`unknown option '${arg}'; ${USAGE}`);
    } else if (jobFile === undefined) {
      jobFile = arg;
    } else {
      throw new CompileError(`more than one job file ('${jobFile}', '${arg}'); ${USAGE}`);
    }
  }
  if (jobFile === undefined) throw new CompileError(`no job file given; ${USAGE}`);
  return { jobFile, ...(parallelism !== undefined ? { parallelism } : {}), params };
}

/** `k=v`: the key and the text of the value. */
export function parseParam(text: string): readonly [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new CompileError(`--param expects key=value, got '${text}'`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** v as JSON when it parses, else the string v: what SDK copies before typed params expect. */
function looseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/**
 * Applies the command-line overrides to a built spec. A Job of this SDK applied the params
 * already, typed; applying them again to its params is a no-op, and checks a Job made by
 * another copy of the SDK (the job folder's own) the same way.
 */
export function applyOverrides(spec: JobSpec, args: CompileArgs): JobSpec {
  const out = { ...spec };
  // Operators without an explicit parallelism have 0, which means the job's.
  if (args.parallelism !== undefined) out.parallelism = args.parallelism;
  if (args.params.length > 0) {
    const defaults = JSON.parse(spec.paramsJson || "{}") as Record<string, unknown>;
    try {
      out.paramsJson = JSON.stringify(applyParams(spec.name, defaults, Object.fromEntries(args.params)));
    } catch (e) {
      if (e instanceof ParamError) throw new CompileError(e.message);
      throw e;
    }
  }
  return out;
}

/** This SDK's entry point, used when the job's folder has no @sluice/sdk of its own. */
const OWN_SDK = fileURLToPath(new URL("../index.js", import.meta.url));

/** Resolves `@sluice/sdk` to the job's installed copy if any, else this one; keeps it external. */
function sdkResolver(seen: SdkImport[]): Plugin {
  return {
    name: "sluice-sdk",
    setup(b) {
      b.onResolve({ filter: /^@sluice\/sdk$/ }, async (args) => {
        if (args.pluginData === "sluice-sdk-probe") return undefined;
        const found = await b.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: "sluice-sdk-probe",
        });
        const ok = found.errors.length === 0 && found.path !== "";
        seen.push({ dir: args.resolveDir, found: ok });
        const path = ok ? found.path : OWN_SDK;
        return { path: pathToFileURL(path).href, external: true };
      });
    },
  };
}

function formatMessage(m: Message): string {
  const loc = m.location;
  return loc === null ? m.text : `${loc.file}:${loc.line}:${loc.column + 1}: ${m.text}`;
}

function checkReadable(jobFile: string): void {
  try {
    const st = statSync(jobFile);
    if (st.isDirectory()) throw new CompileError(`cannot read job file '${jobFile}': it is a directory`);
  } catch (e) {
    if (e instanceof CompileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message;
    throw new CompileError(`cannot read job file '${jobFile}': ${why}`);
  }
}

/** The compiler's own files, whose code decides the bundle (part of the cache's key). */
const COMPILER_FILES = [fileURLToPath(import.meta.url), fileURLToPath(new URL("./bundle-cache.js", import.meta.url))];

/**
 * Bundles the job file into one ES module (the SDK and Node built-ins stay imports), or takes
 * the bundle cached for it while nothing it was made from changed (bundle-cache.ts).
 */
async function bundle(jobFile: string): Promise<Bundled> {
  const slot = openSlot(jobFile, OWN_SDK, esbuildPackageJson(), COMPILER_FILES);
  const cached = slot === undefined ? undefined : readEntry(slot);
  if (cached !== undefined) return { code: cached.code, kept: { slot: slot!, ...cached } };
  const started = Date.now();
  const sdkImports: SdkImport[] = [];
  const { code, metafile } = await esbuildBundle(jobFile, sdkImports);
  if (slot !== undefined) {
    const checks = checksOf(metafile, sdkImports, new Set(builtinModules), started);
    if (checks !== undefined) {
      writeBundle(slot, code, checks);
      return { code, kept: { slot, checks, functions: undefined } };
    }
  }
  return { code };
}

/** A bundle, and its cache entry when it has one (read, or written now). */
interface Bundled {
  readonly code: string;
  readonly kept?: { slot: BundleSlot; checks: Check[]; functions: FunctionRecords | undefined };
}

/** esbuild's package.json (its version is part of the cache's key), or "" when not found. */
function esbuildPackageJson(): string {
  try {
    return require.resolve("esbuild/package.json");
  } catch {
    return "";
  }
}

async function esbuildBundle(jobFile: string, sdkImports: SdkImport[]): Promise<{ code: string; metafile: Metafile }> {
  const absolute = resolve(jobFile);
  const url = pathToFileURL(absolute).href;
  try {
    const result = await esbuild().build({
      entryPoints: [absolute],
      bundle: true,
      write: false,
      platform: "node",
      format: "esm",
      // esnext: no syntax is lowered, so no helper functions end up inside user functions.
      target: "esnext",
      keepNames: false,
      minify: false,
      sourcemap: false,
      logLevel: "silent",
      external: [...builtinModules, ...builtinModules.map((m) => `node:${m}`)],
      metafile: true,
      plugins: [sdkResolver(sdkImports)],
      define: {
        "import.meta.url": JSON.stringify(url),
        "import.meta.filename": JSON.stringify(absolute),
        "import.meta.dirname": JSON.stringify(dirname(absolute)),
      },
    });
    return { code: result.outputFiles[0]!.text, metafile: result.metafile };
  } catch (e) {
    const errors = (e as { errors?: Message[] }).errors;
    if (errors !== undefined && errors.length > 0) {
      throw new CompileError(`cannot compile job file '${jobFile}': ${formatMessage(errors[0]!)}`);
    }
    throw new CompileError(`cannot compile job file '${jobFile}': ${(e as Error).message}`);
  }
}

/** Imports the bundle with console output sent to stderr (stdout carries only the spec). */
async function importJob(
  jobFile: string,
  code: string,
  params: CompileArgs["params"],
): Promise<unknown> {
  // Synchronous fs calls: fs/promises (and rm's rimraf) would be loaded for these alone.
  const dir = mkdtempSync(join(tmpdir(), "sluice-job-"));
  const file = join(dir, "job.mjs");
  const saved = { log: console.log, info: console.info, debug: console.debug };
  const flags = globalThis as Record<symbol, unknown>;
  try {
    writeFileSync(file, code);
    console.log = console.info = console.debug = console.error;
    flags[COMPILING] = true;
    flags[PARAM_TEXTS] = Object.fromEntries(params);
    flags[PARAM_OVERRIDES] = Object.fromEntries(params.map(([k, v]) => [k, looseValue(v)]));
    const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    return mod.default;
  } catch (e) {
    if (e instanceof ParamError) throw new CompileError(e.message);
    throw new CompileError(`job file '${jobFile}' failed while loading: ${oneLine(e)}`);
  } finally {
    flags[COMPILING] = false;
    delete flags[PARAM_OVERRIDES];
    delete flags[PARAM_TEXTS];
    Object.assign(console, saved);
    removeTempDir(dir, file);
  }
}

/** Removes the bundle's temp folder: its one file and itself, else whatever is in it. */
function removeTempDir(dir: string, file: string): void {
  try {
    unlinkSync(file);
    rmdirSync(dir);
  } catch {
    rmSync(dir, { recursive: true, force: true });
  }
}

function oneLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
  return text.split("\n")[0]!;
}

/** Compiles a job file to its JobSpec (with the overrides applied). */
export async function compileJob(args: CompileArgs): Promise<JobSpec> {
  checkReadable(args.jobFile);
  const { code, kept } = await bundle(args.jobFile);
  // With a cache entry, the analysis of function texts seen before is looked up (brand.ts).
  const memo = kept === undefined ? undefined : new FunctionMemoStore(kept.functions, Date.now());
  const flags = globalThis as Record<symbol, unknown>;
  if (memo !== undefined) flags[FUNCTION_MEMO] = memo;
  let spec: JobSpec;
  try {
    const job = await importJob(args.jobFile, code, args.params);
    if (!isJob(job)) {
      throw new CompileError(`job file '${args.jobFile}' does not default-export a Job (add \`export default job\`)`);
    }
    try {
      spec = job.toSpec();
    } catch (e) {
      // Function problems: every one of them, one per line.
      throw new CompileError(e instanceof Error ? e.message : String(e));
    }
  } finally {
    delete flags[FUNCTION_MEMO];
    const functions = memo?.toKeep();
    if (kept !== undefined && functions !== undefined) writeBundle(kept.slot, code, kept.checks, functions);
  }
  return applyOverrides(spec, args);
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    const args = parseArgs(argv);
    if (args === "help") {
      process.stdout.write(
        `${USAGE}\n\nBundles a Sluice job file, takes its default-exported Job and prints its JobSpec as JSON.\n` +
          "  --parallelism N   the job's parallelism (operators without their own)\n" +
          "  --param k=v       sets params[k], which the job must declare; v is read as the type of its default\n",
      );
      return 0;
    }
    const spec = await compileJob(args);
    await writeStdout(JSON.stringify(spec) + "\n");
    return 0;
  } catch (e) {
    const message = e instanceof CompileError ? e.message : `compile-job failed: ${oneLine(e)}`;
    process.stderr.write(message + "\n");
    return 1;
  }
}

/**
 * Writes to standard output with write(2), so that process.stdout (for a pipe: a net.Socket and
 * its streams) is never set up; what that cannot write (a non-blocking pipe that is full, an
 * error) goes through process.stdout as before, errors included.
 */
async function writeStdout(text: string): Promise<void> {
  const data = Buffer.from(text);
  let written = 0;
  try {
    while (written < data.length) written += writeSync(1, data, written);
  } catch {
    // the stream below writes the rest, or reports the error as it always did
  }
  if (written < data.length) {
    const rest = data.subarray(written);
    await new Promise<void>((done) => process.stdout.write(rest, () => done()));
  }
}

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  let settled = false;
  // A top-level await in the job file that never settles leaves nothing for Node to do: it
  // exits (code 0, or 13 for its own top-level await) without the spec. Say why instead.
  process.on("exit", (code) => {
    if (settled) return;
    let jobFile = "?";
    try {
      const args = parseArgs(process.argv.slice(2));
      if (args !== "help") jobFile = args.jobFile;
    } catch {
      // parseArgs failed in main too, which then settled
    }
    process.stderr.write(
      `job file '${jobFile}' never finished loading: a top-level await in it waits on a promise ` +
        "that never settles (nothing else is left to run)\n",
    );
    process.exitCode = code === 0 || code === 13 ? 1 : code;
  });
  // Exit explicitly: a job file may leave timers or sockets behind.
  main(process.argv.slice(2)).then((code) => {
    settled = true;
    process.exit(code);
  });
}
