/** Sinks: where a stream's records go. Pass one to {@link Stream.sink}. */
import { resolve } from "node:path";
import type { JobParams, UserFunction } from "./job.js";
import { kafkaBrokers, kafkaProperties, kafkaTopic } from "./kafka.js";
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

/** Options of {@link kafka}; `T` is the type of the records that reach the sink. */
export interface KafkaSinkOptions<T = unknown, P extends JobParams = Record<string, unknown>> {
  /** Bootstrap servers: `"host:port,host:port"` or an array of `"host:port"`. */
  readonly brokers: string | readonly string[];
  /** The topic to write to. */
  readonly topic: string;
  /**
   * The message key (default: none). A string is sent as its UTF-8 bytes, `{ base64 }` as the
   * decoded bytes, null or undefined as no key, anything else as its JSON text.
   */
  readonly key?: UserFunction<T, P, unknown>;
  /**
   * The message value (default: the record itself — a string as it is, anything else as
   * JSON.stringify(record)). Converted like the key; null sends a message without a value.
   */
  readonly value?: UserFunction<T, P, unknown>;
  /**
   * The partition (an integer from 0 to the topic's partition count - 1). Default: by the key's
   * murmur2 hash, as Kafka's Java client does (messages without a key are spread).
   */
  readonly partition?: UserFunction<T, P, number>;
  /** librdkafka producer properties passed through, e.g. `{ "compression.type": "lz4" }`. */
  readonly properties?: Readonly<Record<string, string | number | boolean>>;
}

/**
 * Writes every record as a message to a Kafka topic, at least once: a job finishes only when
 * every message is acknowledged, and a message the brokers refuse fails the job. While the
 * brokers are away the sink keeps retrying (shown in `sluice status`).
 *
 * @example `sinks.kafka({ brokers: "localhost:9092", topic: "out" })` writes JSON.stringify of
 *   each record; `sinks.kafka({ brokers, topic: "bids", key: (b: Bid) => b.auction })` keys
 *   (and so partitions) the messages by auction.
 */
export function kafka<T = unknown, P extends JobParams = Record<string, unknown>>(
  options: KafkaSinkOptions<T, P>,
): Sink {
  const what = "sinks.kafka";
  const brokers = kafkaBrokers(options?.brokers, what);
  const topic = kafkaTopic(options.topic, what);
  const config: Record<string, unknown> = { brokers, topic };
  if (options.properties !== undefined) config.properties = kafkaProperties(options.properties, what);
  const functions: Record<string, unknown> = {};
  for (const role of ["key", "value", "partition"] as const) {
    const fn = options[role];
    if (fn === undefined) continue;
    if (typeof fn !== "function") throw new Error(`${what}: \`${role}\` must be a function`);
    functions[role] = fn;
  }
  return { kind: "sink.kafka", label: "sink.kafka", collects: false, build: () => ({ config, functions }) };
}
