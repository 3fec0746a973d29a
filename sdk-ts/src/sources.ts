/** Sources: where a job's records come from. Pass one to {@link Job.source}. */
import { resolve } from "node:path";
import type { NexmarkEvent } from "./nexmark.js";
import type { Source } from "./operators.js";
import { checkCount, checkRate } from "./validate.js";

/** Options of {@link file}. */
export interface FileSourceOptions<F extends "lines" | "json" = "lines" | "json"> {
  /** The file to read; a relative path is resolved against the current directory when the job is built. */
  readonly path: string;
  /** `"lines"` (default): every line is a string record; `"json"`: every line is JSON.parse'd. */
  readonly format?: F;
  /**
   * Lines per batch (default and maximum 4096). Watermarks move between batches, so a small
   * batch makes event-time behaviour (lateness) follow the file's order exactly: for tests.
   */
  readonly batchSize?: number;
}

/** Options of {@link generator}. */
export interface GeneratorOptions {
  /** How many records in all (omitted: unbounded). */
  readonly count?: number;
  /** Records per second over all subtasks (omitted: as fast as possible). */
  readonly rate?: number;
}

/** Options of {@link generator} with a record function. */
export interface GeneratorFnOptions<T, P extends object> extends GeneratorOptions {
  /**
   * Makes the record for index `i` (0, 1, 2, ...); runs on workers, so it must be
   * self-contained. Deterministic functions give reproducible jobs.
   */
  readonly fn: (i: number, params: P) => T;
}

/** Options of {@link nexmark}. */
export interface NexmarkOptions {
  /** How many events in all (omitted: unbounded). */
  readonly events?: number;
  /** Events per second over all subtasks (omitted: as fast as possible). */
  readonly rate?: number;
  /** Event time of the first event, epoch ms (default 1700000000000). */
  readonly baseTime?: number;
  /** How fast event time advances, in events per event-time second (default 10000). */
  readonly eventsPerSecond?: number;
}

/**
 * Reads a text file: one record per line.
 *
 * @example `sources.file({ path: "input.txt" })` gives strings;
 *   `sources.file<Order>({ path: "orders.jsonl", format: "json" })` gives parsed JSON.
 */
export function file(options: FileSourceOptions<"lines">): Source<string>;
export function file<T = unknown>(options: FileSourceOptions<"json">): Source<T>;
export function file(options: FileSourceOptions): Source<unknown> {
  const { path, format = "lines", batchSize } = options ?? {};
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new Error(`sources.file: batchSize must be a positive integer, not ${JSON.stringify(batchSize)}`);
  }
  if (typeof path !== "string" || path === "") {
    throw new Error("sources.file: `path` must be a non-empty string");
  }
  if (format !== "lines" && format !== "json") {
    throw new Error(`sources.file: format ${JSON.stringify(format)} is not "lines" or "json"`);
  }
  return {
    kind: "source.file",
    label: "source.file",
    build: () => ({
      config: { path: resolve(process.cwd(), path), format, ...(batchSize !== undefined ? { batchSize } : {}) },
      functions: {},
    }),
  };
}

/**
 * Generates records deterministically: the numbers 0, 1, 2, ... or `fn(i, params)` for each
 * index `i`.
 */
export function generator<T, P extends object = Record<string, unknown>>(
  options: GeneratorFnOptions<T, P>,
): Source<T>;
export function generator(options?: GeneratorOptions): Source<number>;
export function generator(
  options: GeneratorOptions & { readonly fn?: unknown } = {},
): Source<unknown> {
  const config: Record<string, unknown> = {};
  if (options.count !== undefined) config.count = checkCount(options.count, "sources.generator: count");
  if (options.rate !== undefined) config.rate = checkRate(options.rate, "sources.generator: rate");
  const functions: Record<string, unknown> = options.fn === undefined ? {} : { fn: options.fn };
  return { kind: "source.generator", label: "source.generator", build: () => ({ config, functions }) };
}

/** Generates the Nexmark benchmark's people, auctions and bids (in proportions 1:3:46). */
export function nexmark(options: NexmarkOptions = {}): Source<NexmarkEvent> {
  const config: Record<string, unknown> = {};
  if (options.events !== undefined) config.events = checkCount(options.events, "sources.nexmark: events");
  if (options.rate !== undefined) config.rate = checkRate(options.rate, "sources.nexmark: rate");
  if (options.baseTime !== undefined) {
    config.baseTime = checkCount(options.baseTime, "sources.nexmark: baseTime");
  }
  if (options.eventsPerSecond !== undefined) {
    config.eventsPerSecond = checkRate(options.eventsPerSecond, "sources.nexmark: eventsPerSecond");
  }
  return { kind: "source.nexmark", label: "source.nexmark", build: () => ({ config, functions: {} }) };
}
