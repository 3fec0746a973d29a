/** Sinks: where a stream's records go. Pass one to {@link Stream.sink}. */
import { resolve } from "node:path";
import { toMillis, type Duration } from "./duration.js";
import type { JobParams, UserFunction } from "./job.js";
import { kafkaBrokers, kafkaProperties, kafkaTopic } from "./kafka.js";
import type { Sink } from "./operators.js";
import { retryConfig, type RetryOptions } from "./retry.js";
import { checkCount, checkPositiveInt } from "./validate.js";

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
  /**
   * Replace the file when it exists (default `false`: a job whose output file exists fails at
   * its start, naming the file, and the file is left as it was). The path must be below a
   * folder the workers allow (`--allow-path`; for `sluice run`, the working directory), and
   * no other running job may write it.
   */
  readonly overwrite?: boolean;
}

/** Writes every record as one JSON document per line into a file. */
export function file(options: FileSinkOptions): Sink {
  const path = options?.path;
  if (typeof path !== "string" || path === "") {
    throw new Error("sinks.file: `path` must be a non-empty string");
  }
  const overwrite = options.overwrite;
  if (overwrite !== undefined && typeof overwrite !== "boolean") {
    throw new Error(`sinks.file: overwrite must be true or false, not ${JSON.stringify(overwrite)}`);
  }
  return {
    kind: "sink.file",
    label: "sink.file",
    collects: false,
    build: () => ({
      config: { path: resolve(process.cwd(), path), ...(overwrite === true ? { overwrite } : {}) },
      functions: {},
    }),
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

/** One argument of a Redis command; a number is sent as JavaScript prints it (`String(n)`). */
export type RedisArg = string | number;

/** One Redis command: its name, then its arguments, e.g. `["SET", key, value]`. */
export type RedisCommand = readonly [name: string, ...args: RedisArg[]];

/**
 * What a Redis sink's function returns for one record: one command, a list of commands (sent
 * in order), or `null` (or `[]`) to write nothing for this record.
 */
export type RedisCommands = RedisCommand | readonly RedisCommand[] | null;

/** Where a sink's password comes from; at most one may be given. */
interface PasswordOptions {
  readonly password?: string;
  readonly passwordEnv?: string;
  readonly passwordFile?: string;
}

function passwordConfig(o: PasswordOptions, what: string): Record<string, string> {
  const given = (["password", "passwordEnv", "passwordFile"] as const).filter((k) => o[k] !== undefined);
  if (given.length > 1) {
    throw new Error(`${what}: give one of password, passwordEnv and passwordFile, not ${given.join(" and ")}`);
  }
  const config: Record<string, string> = {};
  if (o.password !== undefined) config.password = checkString(o.password, `${what}: password`, true);
  if (o.passwordEnv !== undefined) config.passwordEnv = checkString(o.passwordEnv, `${what}: passwordEnv`);
  if (o.passwordFile !== undefined) config.passwordFile = checkString(o.passwordFile, `${what}: passwordFile`);
  return config;
}

/** Options of {@link redis}. */
export interface RedisSinkOptions<T, P> {
  /** The server, `"host:port"` (the port defaults to 6379), e.g. `"127.0.0.1:6379"`. */
  readonly address: string;
  /**
   * The command(s) for one record, e.g. `(r) => ["SET", "count:" + r.key, r.value]`. Runs on
   * workers, so it must be self-contained. Delivery is at-least-once (a pipeline the
   * connection dropped is sent again), so prefer idempotent commands: `SET`, `HSET`, `XADD`
   * with an explicit id, `EXPIRE`; not `INCRBY`.
   */
  readonly command: (record: T, params: P) => RedisCommands;
  /** The database index to `SELECT` (default 0). */
  readonly database?: number;
  /** The ACL user (Redis 6+); needs `password`, `passwordEnv` or `passwordFile`. */
  readonly username?: string;
  /**
   * Sent with `AUTH` after connecting (omitted: no `AUTH`). It travels in the job spec; prefer
   * {@link RedisSinkOptions.passwordEnv} or {@link RedisSinkOptions.passwordFile}.
   */
  readonly password?: string;
  /** The password is the value of this environment variable on each worker. */
  readonly passwordEnv?: string;
  /** The password is the contents of this file on each worker (trailing newlines trimmed). */
  readonly passwordFile?: string;
  /**
   * TLS to the server. Not available in this version: Debian 12's hiredis (0.14) has no TLS,
   * so `true` is refused when the job is submitted. Use a TLS proxy such as stunnel instead.
   */
  readonly tls?: boolean;
  /** Commands sent per round trip (default 1000). */
  readonly pipeline?: number;
  /** Connect timeout and the longest wait for a reply (default 5 s). */
  readonly timeout?: Duration;
  /** How long to retry an unreachable server before the task fails (default 60 s). */
  readonly retry?: RetryOptions;
}

/**
 * Writes to Redis: `command(record, params)` returns the command(s) for each record, sent in
 * pipelines. When the server cannot be reached the sink retries with backoff (shown by
 * `sluice status`) and sends the unanswered commands again; a command the server refuses fails
 * the job with the server's error.
 *
 * @example
 * ```ts
 * counts.sink(sinks.redis({ address: "127.0.0.1:6379", command: (r) => ["SET", `count:${r.word}`, r.count] }));
 * ```
 */
export function redis<T, P = Record<string, unknown>>(options: RedisSinkOptions<T, P>): Sink<T, P> {
  const o = options ?? ({} as RedisSinkOptions<T, P>);
  const what = "sinks.redis";
  const config: Record<string, unknown> = { address: checkString(o.address, `${what}: address`) };
  if (typeof o.command !== "function") throw new Error(`${what}: \`command\` must be a function`);
  if (o.database !== undefined) config.database = checkCount(o.database, `${what}: database`);
  if (o.username !== undefined) config.username = checkString(o.username, `${what}: username`);
  Object.assign(config, passwordConfig(o, what));
  if (o.tls !== undefined) {
    if (typeof o.tls !== "boolean") throw new Error(`${what}: tls must be true or false`);
    config.tls = o.tls;
  }
  if (o.pipeline !== undefined) config.pipeline = checkPositiveInt(o.pipeline, `${what}: pipeline`);
  if (o.timeout !== undefined) config.timeoutMs = positiveMillis(o.timeout, `${what}: timeout`);
  Object.assign(config, retryConfig(o.retry, what));
  const command = o.command;
  return {
    kind: "sink.redis",
    label: "sink.redis",
    collects: false,
    build: () => ({ config, functions: { fn: command } }),
  };
}

/**
 * What a connector sink promises when the job restarts from a checkpoint (see
 * connectors/README.md):
 * - `"at-least-once"` (the default): records are written as they come; a restart or a retried
 *   write may repeat some, so writes should be idempotent (upserts, keyed messages).
 * - `"exactly-once"`: the sink holds back what it got between two checkpoints and writes it,
 *   in one transaction with a commit marker, once the checkpoint completed. Nothing is written
 *   twice or lost across restarts; the output appears one checkpoint interval later, and a
 *   job without checkpoints writes only when it finishes.
 */
export type DeliveryGuarantee = "at-least-once" | "exactly-once";

function checkGuarantee(value: unknown, what: string): DeliveryGuarantee {
  if (value !== "at-least-once" && value !== "exactly-once") {
    throw new Error(`${what}: guarantee must be "at-least-once" or "exactly-once", got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * One statement parameter: a string, number, boolean or `null` (SQL NULL); an object or array
 * is passed as its JSON text (for JSON columns).
 */
export type SqlValue = string | number | boolean | null | object;

/** Options of {@link mysql}. */
export interface MySqlSinkOptions<T, P> {
  /** The server's host name or address. */
  readonly host: string;
  /** The server's port (default 3306). */
  readonly port?: number;
  readonly user: string;
  /**
   * The user's password. It travels in the job spec (coordinators keep it out of their records
   * and logs); prefer {@link MySqlSinkOptions.passwordEnv} or {@link MySqlSinkOptions.passwordFile}.
   */
  readonly password?: string;
  /** The password is the value of this environment variable on each worker. */
  readonly passwordEnv?: string;
  /** The password is the contents of this file on each worker (trailing newlines trimmed). */
  readonly passwordFile?: string;
  /** The database (schema) the statement runs in. */
  readonly database: string;
  /**
   * One INSERT, REPLACE, UPDATE, DELETE or CALL statement with `?` placeholders, e.g.
   * `INSERT INTO counts (word, n) VALUES (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n)`.
   * At-least-once (the default), a transaction the connection dropped is written again, so
   * prefer upserts; exactly-once writes each row once.
   */
  readonly statement: string;
  /**
   * The values for the statement's placeholders, in order, for one record (`null` to write no
   * row for it). Runs on workers, so it must be self-contained.
   */
  readonly params: (record: T, params: P) => readonly SqlValue[] | null;
  /** Connect, read and write timeout (default 10 s). */
  readonly timeout?: Duration;
  /** How long to retry an unreachable server before the task fails (default 60 s). */
  readonly retry?: RetryOptions;
  /**
   * `"at-least-once"` (default) commits each batch as it comes; `"exactly-once"` commits what
   * came between two checkpoints once the checkpoint completed, in one transaction per
   * checkpoint that also records it in {@link MySqlSinkOptions.commitTable}.
   */
  readonly guarantee?: DeliveryGuarantee;
  /**
   * With exactly-once: the table of commit markers, `name` or `schema.name` (default
   * `sluice_commits`), created if missing: `sink_id VARCHAR(255) PRIMARY KEY, epoch BIGINT`.
   */
  readonly commitTable?: string;
}

/**
 * Writes to MySQL or MariaDB: runs `statement` once per record with the values
 * `params(record, params)` returns, each batch of records in one transaction (with
 * `guarantee: "exactly-once"`, each checkpoint's records once it completed). When the server
 * cannot be reached the sink retries with backoff (shown by `sluice status`) and writes the
 * whole transaction again; a row the server refuses fails the job with the server's error.
 *
 * @example
 * ```ts
 * users.sink(sinks.mysql({
 *   host: "127.0.0.1", user: "app", password: "secret", database: "shop",
 *   statement: "INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)",
 *   params: (u) => [u.id, u.name],
 * }));
 * ```
 */
export function mysql<T, P = Record<string, unknown>>(options: MySqlSinkOptions<T, P>): Sink<T, P> {
  const o = options ?? ({} as MySqlSinkOptions<T, P>);
  const what = "sinks.mysql";
  const config: Record<string, unknown> = { host: checkString(o.host, `${what}: host`) };
  if (o.port !== undefined) {
    config.port = checkPositiveInt(o.port, `${what}: port`);
    if (o.port > 65535) throw new Error(`${what}: port must be at most 65535, got ${o.port}`);
  }
  config.user = checkString(o.user, `${what}: user`);
  Object.assign(config, passwordConfig(o, what));
  config.database = checkString(o.database, `${what}: database`);
  config.statement = checkString(o.statement, `${what}: statement`);
  if (typeof o.params !== "function") throw new Error(`${what}: \`params\` must be a function`);
  if (o.timeout !== undefined) config.timeoutMs = positiveMillis(o.timeout, `${what}: timeout`);
  if (o.guarantee !== undefined) config.guarantee = checkGuarantee(o.guarantee, what);
  if (o.commitTable !== undefined) config.commitTable = checkString(o.commitTable, `${what}: commitTable`);
  Object.assign(config, retryConfig(o.retry, what));
  const params = o.params;
  return {
    kind: "sink.mysql",
    label: "sink.mysql",
    collects: false,
    build: () => ({ config, functions: { fn: params } }),
  };
}

function checkString(value: unknown, what: string, allowEmpty = false): string {
  if (typeof value !== "string" || (!allowEmpty && value === "")) {
    throw new Error(`${what} must be a${allowEmpty ? "" : " non-empty"} string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function positiveMillis(value: Duration, what: string): number {
  const ms = toMillis(value, what);
  if (ms < 1) throw new Error(`${what} must be at least 1 ms`);
  return ms;
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
  /**
   * How long to retry brokers that cannot be reached before the task fails (default 60 s); at
   * least once, a message not delivered within `retry.timeout` fails the task.
   */
  readonly retry?: RetryOptions;
  /**
   * `"at-least-once"` (default) produces as records come; `"exactly-once"` produces what came
   * between two checkpoints once the checkpoint completed, in one Kafka transaction with a
   * commit marker in {@link KafkaSinkOptions.commitTopic}. Consumers then read with
   * `isolation.level=read_committed`.
   */
  readonly guarantee?: DeliveryGuarantee;
  /**
   * With exactly-once: the topic of the commit markers (default `sluice-commits`). It must
   * exist; create it with `cleanup.policy=compact` so it stays small.
   */
  readonly commitTopic?: string;
}

/**
 * Writes every record as a message to a Kafka topic, at least once (or exactly once, with
 * `guarantee: "exactly-once"` and checkpoints): a job finishes only when every message is
 * acknowledged, and a message the brokers refuse fails the job. While the brokers are away the
 * sink keeps retrying (shown in `sluice status`).
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
  if (options.guarantee !== undefined) config.guarantee = checkGuarantee(options.guarantee, what);
  if (options.commitTopic !== undefined) config.commitTopic = kafkaTopic(options.commitTopic, `${what}: commitTopic`);
  Object.assign(config, retryConfig(options.retry, what));
  const functions: Record<string, unknown> = {};
  for (const role of ["key", "value", "partition"] as const) {
    const fn = options[role];
    if (fn === undefined) continue;
    if (typeof fn !== "function") throw new Error(`${what}: \`${role}\` must be a function`);
    functions[role] = fn;
  }
  return { kind: "sink.kafka", label: "sink.kafka", collects: false, build: () => ({ config, functions }) };
}
