// Compiles the editor's TypeScript in the page: esbuild-wasm bundles it (the same options as
// sluice-compile-job), the bundle is imported as a module against the SDK bundled into this page
// (the SDK's own source), and the default-exported Job's toSpec() is the JobSpec to post.
// Problems come back with the line of the user's source they belong to.
import * as esbuild from "esbuild-wasm";
import * as sdk from "../../sdk-ts/src/index.ts";
import { COMPILING, PARAM_OVERRIDES } from "../../sdk-ts/src/brand.ts";
import { prepareFunction } from "../../sdk-ts/src/functions.ts";
import type { JobSpec } from "../../sdk-ts/src/spec.ts";
import { LineMapper, lineColumn, type SourceMapJson } from "./sourcemap.ts";

export interface Problem {
  line: number | null;
  message: string;
  operatorId?: string;
}

export interface Compiled {
  spec: JobSpec | null;
  problems: Problem[];
  /** Operator id -> the line of the user's source where it is written. */
  operatorLines: Record<string, number>;
  /**
   * Operator id -> for each of its functions (in the spec's order), line k of the function's
   * text (what a worker's "line k of the function" counts) -> the user's line, or null.
   */
  functionLines: Record<string, Array<Array<number | null>>>;
}

export interface Overrides {
  parallelism?: number;
  params?: Record<string, unknown>;
}

import { process as processShim } from "./shims/process.ts";

// Job files may read process.env (e.g. KAFKA_BROKERS ?? "localhost:9092"): in the page it is empty.
(globalThis as Record<string, unknown>).process ??= processShim;

const SDK_KEY = Symbol.for("sluice.playground.sdk");
(globalThis as Record<symbol, unknown>)[SDK_KEY] = sdk;

let ready: Promise<void> | null = null;
export function initCompiler(wasmURL: string): Promise<void> {
  ready ??= esbuild.initialize({ wasmURL, worker: false });
  return ready;
}

// Calls the user's code makes on the SDK's classes, with where they were made.
interface Call { method: string; args: unknown[]; stack: string }
let recording: Call[] | null = null;

function instrument(): void {
  const classes = [sdk.Job, sdk.Stream, sdk.WindowStream, sdk.KeyedStream, sdk.WindowedStream,
    sdk.JoinedStreams, sdk.IntervalJoin] as unknown as Array<{ prototype: Record<string, unknown> }>;
  const skip = new Set(["constructor", "toSpec", "run", "submit"]);
  for (const cls of classes) {
    const proto = cls.prototype;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, name);
      if (skip.has(name) || desc === undefined || typeof desc.value !== "function") continue;
      const original = desc.value as (...a: unknown[]) => unknown;
      if ((original as { __sluiceWrapped?: boolean }).__sluiceWrapped) continue;
      const wrapped = function (this: unknown, ...args: unknown[]): unknown {
        recording?.push({ method: name, args, stack: new Error().stack ?? "" });
        return original.apply(this, args);
      };
      (wrapped as { __sluiceWrapped?: boolean }).__sluiceWrapped = true;
      Object.defineProperty(proto, name, { ...desc, value: wrapped });
    }
  }
}
instrument();

function sdkPlugin(): esbuild.Plugin {
  return {
    name: "sluice-sdk",
    setup(b) {
      b.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind === "entry-point") return undefined;
        if (args.path === "@sluice/sdk") return { path: "sdk", namespace: "sluice-sdk" };
        return { errors: [{ text: `cannot import '${args.path}': in the playground a job imports only @sluice/sdk` }] };
      });
      b.onLoad({ filter: /.*/, namespace: "sluice-sdk" }, () => ({
        contents: `module.exports = globalThis[Symbol.for("sluice.playground.sdk")];`,
        loader: "js",
      }));
    },
  };
}

/** Everything needed to turn positions in the bundle into the user's lines. */
class Locator {
  private readonly mapper: LineMapper;
  constructor(readonly code: string, map: SourceMapJson, readonly blobUrl: string) {
    this.mapper = new LineMapper(map, Math.max(0, map.sources.findIndex((s) => s.endsWith("job.ts"))));
  }
  lineOfOffset(offset: number): number | null {
    const { line, column } = lineColumn(this.code, offset);
    return this.mapper.originalLine(line, column);
  }
  /** The user's line of the first stack frame inside the job's module. */
  lineOfStack(stack: string): number | null {
    for (const frame of stack.split("\n")) {
      const at = frame.indexOf(this.blobUrl);
      if (at < 0) continue;
      const m = /:(\d+):(\d+)\)?\s*$/.exec(frame.slice(at + this.blobUrl.length));
      if (m) return this.mapper.originalLine(Number(m[1]), Number(m[2]) - 1);
    }
    return null;
  }
  /** The user's line of a function's text in the bundle, or of `name` inside it. */
  lineOfFunction(fn: unknown, name?: string): number | null {
    if (typeof fn !== "function") return null;
    const text = Function.prototype.toString.call(fn);
    const at = this.code.indexOf(text);
    if (at < 0) return null;
    let offset = 0;
    if (name !== undefined) {
      const m = new RegExp(`(?<![.\\w$])${name.replace(/[$]/g, "\\$")}(?![\\w$])`).exec(text);
      if (m) offset = m.index;
    }
    return this.lineOfOffset(at + offset);
  }
}

function functionArgs(call: Call): unknown[] {
  const out: unknown[] = [];
  for (const a of call.args) {
    if (typeof a === "function") out.push(a);
    else if (a !== null && typeof a === "object") {
      for (const v of Object.values(a as Record<string, unknown>)) if (typeof v === "function") out.push(v);
    }
  }
  return out;
}

/** Where each operator of a built spec is written. */
function operatorLines(spec: JobSpec, calls: Call[], where: Locator): Record<string, number> {
  const lines: Record<string, number> = {};
  const byKind = (method: string) => calls.filter((c) => c.method === method);
  const counters: Record<string, number> = {};
  for (const op of spec.operators) {
    let line: number | null = null;
    for (const source of Object.values(op.functions ?? {})) {
      for (const call of calls) {
        for (const fn of functionArgs(call)) {
          if (line === null && prepareFunction(fn).source === source) line = where.lineOfStack(call.stack);
        }
      }
    }
    if (line === null) {
      const method = op.kind.startsWith("source.") ? "source" : op.kind.startsWith("sink.") ? "sink" : null;
      if (method !== null) {
        const n = counters[method] ?? 0;
        counters[method] = n + 1;
        const call = byKind(method)[n];
        if (call) line = where.lineOfStack(call.stack);
      }
    }
    if (line !== null) lines[op.id] = line;
  }
  return lines;
}

/** The user's line of each line of every operator function's text. */
function functionLines(spec: JobSpec, calls: Call[], where: Locator): Record<string, Array<Array<number | null>>> {
  const out: Record<string, Array<Array<number | null>>> = {};
  const fns = calls.flatMap(functionArgs);
  for (const op of spec.operators) {
    const perFunction: Array<Array<number | null>> = [];
    for (const source of Object.values(op.functions ?? {})) {
      const fn = fns.find((f) => prepareFunction(f).source === source);
      const text = fn === undefined ? null : Function.prototype.toString.call(fn);
      const at = text === null ? -1 : where.code.indexOf(text);
      const lines: Array<number | null> = [];
      if (text !== null && at >= 0) {
        let start = 0;
        for (const line of text.split("\n")) {
          const indent = line.length - line.trimStart().length;
          lines.push(where.lineOfOffset(at + start + indent));
          start += line.length + 1;
        }
      }
      perFunction.push(lines);
    }
    out[op.id] = perFunction;
  }
  return out;
}

/** A toSpec() problem ("operator 'x' (op3): the function refers to 'y', ...") at its line. */
function locateBuildProblem(problem: string, calls: Call[], where: Locator): Problem {
  const m = /^operator '.*?' \((op\d+)\)(?: \((?:function '[^']*'|key selector)\))?: (.*)$/s.exec(problem);
  const operatorId = m?.[1];
  const detail = m?.[2] ?? problem;
  const variable = /refers to '([^']+)'/.exec(detail)?.[1];
  for (const call of calls) {
    for (const fn of functionArgs(call)) {
      if (prepareFunction(fn).problems.includes(detail)) {
        const line = where.lineOfFunction(fn, variable) ?? where.lineOfStack(call.stack);
        return { line, message: problem, ...(operatorId ? { operatorId } : {}) };
      }
    }
  }
  return { line: null, message: problem, ...(operatorId ? { operatorId } : {}) };
}

export async function compile(source: string, overrides: Overrides = {}): Promise<Compiled> {
  if (ready === null) throw new Error("initCompiler() first");
  await ready;
  let result: esbuild.BuildResult;
  try {
    result = await esbuild.build({
      stdin: { contents: source, loader: "ts", sourcefile: "job.ts", resolveDir: "/" },
      bundle: true,
      write: false,
      outdir: "/out",
      format: "esm",
      target: "esnext",
      keepNames: false,
      minify: false,
      sourcemap: "external",
      logLevel: "silent",
      plugins: [sdkPlugin()],
    });
  } catch (e) {
    const errors = (e as { errors?: esbuild.Message[] }).errors ?? [];
    return {
      spec: null,
      operatorLines: {},
      functionLines: {},
      problems: errors.length > 0
        ? errors.map((m) => ({ line: m.location?.line ?? null, message: m.text }))
        : [{ line: null, message: String(e) }],
    };
  }
  const files = result.outputFiles ?? [];
  const code = files.find((f) => f.path.endsWith(".js"))!.text;
  const map = JSON.parse(files.find((f) => f.path.endsWith(".map"))!.text) as SourceMapJson;
  const blobUrl = URL.createObjectURL(new Blob([code], { type: "text/javascript" }));
  const where = new Locator(code, map, blobUrl);
  const calls: Call[] = [];
  const flags = globalThis as Record<symbol, unknown>;
  let job: unknown;
  recording = calls;
  flags[COMPILING] = true;
  flags[PARAM_OVERRIDES] = overrides.params ?? {};
  try {
    job = ((await import(/* @vite-ignore */ blobUrl)) as { default?: unknown }).default;
  } catch (e) {
    const err = e as Error;
    return { spec: null, operatorLines: {}, functionLines: {}, problems: [{ line: where.lineOfStack(err.stack ?? ""), message: err.message }] };
  } finally {
    recording = null;
    flags[COMPILING] = false;
    delete flags[PARAM_OVERRIDES];
    URL.revokeObjectURL(blobUrl);
  }
  if (!sdk.isJob(job)) {
    return { spec: null, operatorLines: {}, functionLines: {}, problems: [{ line: null, message: "the job file does not default-export a Job (add `export default job`)" }] };
  }
  let spec: JobSpec;
  try {
    spec = job.toSpec();
  } catch (e) {
    const problems = e instanceof sdk.JobBuildError
      ? e.problems.map((p) => locateBuildProblem(p, calls, where))
      : [{ line: where.lineOfStack((e as Error).stack ?? ""), message: (e as Error).message }];
    return { spec: null, operatorLines: {}, functionLines: {}, problems };
  }
  spec = { ...spec };
  if (overrides.parallelism !== undefined) spec.parallelism = overrides.parallelism;
  if (overrides.params !== undefined && Object.keys(overrides.params).length > 0) {
    const params = JSON.parse(spec.paramsJson || "{}") as Record<string, unknown>;
    Object.assign(params, overrides.params);
    spec.paramsJson = JSON.stringify(params);
  }
  return { spec, problems: [], operatorLines: operatorLines(spec, calls, where), functionLines: functionLines(spec, calls, where) };
}
