/** Sources: where a job's records come from. Pass one to {@link Job.source}. */
import { resolve } from "node:path";
import { toMillis, type Duration } from "./duration.js";
import { kafkaBrokers, kafkaProperties, kafkaTopic } from "./kafka.js";
import type { KafkaFormat, KafkaRecord, KafkaStartFrom } from "./kafka.js";
import type { NexmarkEvent } from "./nexmark.js";
import type { Source } from "./operators.js";
import { retryConfig, type RetryOptions } from "./retry.js";
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
  /**
   * The longest line, in bytes (default and maximum: the workers' `--max-line-bytes`, 16 MiB
   * unless set). A longer line fails the source, naming the file and the line's byte offset.
   */
  readonly maxLineBytes?: number;
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
  const { path, format = "lines", batchSize, maxLineBytes } = options ?? {};
  if (batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)) {
    throw new Error(`sources.file: batchSize must be a positive integer, not ${JSON.stringify(batchSize)}`);
  }
  if (maxLineBytes !== undefined && !(Number.isInteger(maxLineBytes) && maxLineBytes > 0)) {
    throw new Error(`sources.file: maxLineBytes must be a positive integer, not ${JSON.stringify(maxLineBytes)}`);
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
      config: {
        path: resolve(process.cwd(), path),
        format,
        ...(batchSize !== undefined ? { batchSize } : {}),
        ...(maxLineBytes !== undefined ? { maxLineBytes } : {}),
      },
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

/** Options of {@link kafka}. */
export interface KafkaSourceOptions<F extends KafkaFormat = KafkaFormat> {
  /** Bootstrap servers: `"host:port,host:port"` or an array of `"host:port"`. */
  readonly brokers: string | readonly string[];
  /** The topic or topics to read (give this or `topic`). */
  readonly topics?: string | readonly string[];
  /** One topic to read (the same as `topics: [topic]`). */
  readonly topic?: string;
  /**
   * `"string"` (default): each message's value as a string (UTF-8; invalid bytes become U+FFFD);
   * `"json"`: the value JSON.parse'd (a value that is not JSON fails the job, naming the topic,
   * partition and offset); `"bytes"`: the whole message as a {@link KafkaRecord}. Messages
   * without a value (tombstones) are skipped by `"string"` and `"json"`.
   */
  readonly format?: F;
  /** Where to start in each partition (default `"earliest"`). */
  readonly startFrom?: KafkaStartFrom;
  /**
   * Stop at each partition's end offset as of the job's start, so the job finishes (default
   * false: keep reading new messages until the job is cancelled).
   */
  readonly bounded?: boolean;
  /**
   * Event time from Kafka: each record's event time is its message's timestamp, and the source
   * emits watermarks per partition (see {@link KafkaWatermarks}). Without it records have no
   * event time (use `assignTimestamps` for event-time windows).
   */
  readonly watermarks?: KafkaWatermarks;
  /** librdkafka consumer properties passed through, e.g. `{ "security.protocol": "ssl" }`. */
  readonly properties?: Readonly<Record<string, string | number | boolean>>;
  /**
   * How long to retry brokers that cannot be reached while connecting (looking up the topics
   * and offsets) before the task fails (default 60 s): a bounded source that never connected
   * fails instead of waiting for ever.
   */
  readonly retry?: RetryOptions;
}

/**
 * Watermarks of a Kafka source ({@link KafkaSourceOptions.watermarks}). Each partition keeps the
 * greatest message timestamp it has seen; the source's watermark is the smallest of those over
 * its partitions, minus `maxOutOfOrderness`, minus 1 ms (as `assignTimestamps`), so a slow
 * partition holds it back and records within `maxOutOfOrderness` of it are on time.
 */
export interface KafkaWatermarks {
  /** How late (behind its partition's greatest timestamp) a message may arrive (default 0). */
  readonly maxOutOfOrderness?: Duration;
  /**
   * A partition without messages for this long is idle and stops holding the watermark back
   * until it has messages again; when every partition is idle, so is the source (default: a
   * partition is never idle, so one without messages holds the watermark back).
   */
  readonly idleTimeout?: Duration;
}

function kafkaWatermarks(watermarks: unknown): Record<string, number> {
  const what = "sources.kafka: watermarks";
  if (typeof watermarks !== "object" || watermarks === null || Array.isArray(watermarks)) {
    throw new Error(`${what} must be an object { maxOutOfOrderness?, idleTimeout? }`);
  }
  const config: Record<string, number> = {};
  for (const [key, value] of Object.entries(watermarks)) {
    if (key === "maxOutOfOrderness") {
      config.maxOutOfOrderness = toMillis(value as Duration, `${what}.maxOutOfOrderness`);
    } else if (key === "idleTimeout") {
      const ms = toMillis(value as Duration, `${what}.idleTimeout`);
      if (ms <= 0) throw new Error(`${what}.idleTimeout must be more than 0 ms`);
      config.idleTimeout = ms;
    } else if (value !== undefined) {
      throw new Error(`${what}: unknown option ${JSON.stringify(key)} (maxOutOfOrderness, idleTimeout)`);
    }
  }
  return config;
}

function kafkaStart(start: unknown): unknown {
  if (start === "earliest" || start === "latest") return start;
  if (typeof start === "object" && start !== null && "timestamp" in start) {
    const ts = (start as { timestamp: unknown }).timestamp;
    const ms = ts instanceof Date ? ts.getTime() : ts;
    return { timestamp: checkCount(ms, "sources.kafka: startFrom.timestamp") };
  }
  throw new Error(
    `sources.kafka: startFrom ${JSON.stringify(start)} is not "earliest", "latest" or { timestamp }`,
  );
}

/**
 * Reads Kafka topics. Sluice assigns the topics' partitions to the source's parallel instances
 * itself (round robin over the partitions ordered by topic and number; no consumer group), so
 * a parallelism above the number of partitions leaves instances idle.
 *
 * @example `sources.kafka({ brokers: "localhost:9092", topic: "lines" })` gives strings;
 *   `sources.kafka<Bid>({ brokers, topics: ["bids"], format: "json", bounded: true })` gives
 *   parsed JSON and finishes at the topic's end; `format: "bytes"` gives {@link KafkaRecord}s.
 *   `watermarks: { maxOutOfOrderness: "2s", idleTimeout: "30s" }` makes the messages'
 *   timestamps the records' event time, for event-time windows.
 */
export function kafka(options: KafkaSourceOptions<"string">): Source<string>;
export function kafka<T = unknown>(options: KafkaSourceOptions<"json">): Source<T>;
export function kafka(options: KafkaSourceOptions<"bytes">): Source<KafkaRecord>;
export function kafka(options: KafkaSourceOptions): Source<unknown> {
  const what = "sources.kafka";
  const { format = "string", startFrom, bounded, watermarks, properties } = options ?? {};
  const brokers = kafkaBrokers(options?.brokers, what);
  if ((options.topics === undefined) === (options.topic === undefined)) {
    throw new Error(`${what}: give exactly one of \`topics\` and \`topic\``);
  }
  const given = options.topics ?? options.topic;
  const list = typeof given === "string" ? [given] : Array.isArray(given) ? given : [];
  if (list.length === 0) throw new Error(`${what}: \`topics\` must name at least one topic`);
  const topics = list.map((t: unknown) => kafkaTopic(t, what));
  if (format !== "string" && format !== "json" && format !== "bytes") {
    throw new Error(`${what}: format ${JSON.stringify(format)} is not "string", "json" or "bytes"`);
  }
  const config: Record<string, unknown> = { brokers, topics, format };
  if (startFrom !== undefined) config.startFrom = kafkaStart(startFrom);
  if (bounded !== undefined) {
    if (typeof bounded !== "boolean") throw new Error(`${what}: \`bounded\` must be a boolean`);
    config.bounded = bounded;
  }
  if (watermarks !== undefined) config.watermarks = kafkaWatermarks(watermarks);
  if (properties !== undefined) config.properties = kafkaProperties(properties, what);
  Object.assign(config, retryConfig(options.retry, what));
  return { kind: "source.kafka", label: "source.kafka", build: () => ({ config, functions: {} }) };
}
