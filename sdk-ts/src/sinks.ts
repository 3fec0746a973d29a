/** Sinks: where a stream's records go. Pass one to {@link Stream.sink}. */
import { resolve } from "node:path";
import type { Sink } from "./operators.js";

function simple(kind: Sink["kind"], collects = false): Sink {
  return { kind, label: kind, collects, build: () => ({ config: {}, functions: {} }) };
}

/** Writes every record as one JSON document per line on standard output. */
export function stdout(): Sink {
  return simple("sink.stdout");
}

/** Options of {@link file}. */
export interface FileSinkOptions {
  /**
   * The file to write (JSON lines); relative paths resolve against the current directory when
   * the job is built. At parallelism P > 1, subtask s writes `path.s`.
   */
  readonly path: string;
}

/** Writes every record as one JSON document per line into a file. */
export function file(options: FileSinkOptions): Sink {
  const path = options?.path;
  if (typeof path !== "string" || path === "") {
    throw new Error("sinks.file: `path` must be a non-empty string");
  }
  return {
    kind: "sink.file",
    label: "sink.file",
    collects: false,
    build: () => ({ config: { path: resolve(process.cwd(), path) }, functions: {} }),
  };
}

/**
 * Collects the records so the caller gets them back: from `job.run()` or from
 * `handle.results()` after `job.submit()`.
 */
export function collect(): Sink {
  return simple("sink.collect", true);
}

/** Counts the records and drops them (for benchmarks). */
export function discard(): Sink {
  return simple("sink.discard");
}
