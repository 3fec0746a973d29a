/**
 * `@sluice/sdk`: build Sluice jobs in TypeScript, compile them to a JobSpec, run them locally
 * or submit them to a coordinator.
 *
 * @example
 * ```ts
 * import { Job, sources, sinks } from "@sluice/sdk";
 * const job = new Job("word-count", { parallelism: 2 });
 * job.source(sources.file({ path: "input.txt" }))
 *    .flatMap((line) => line.split(/\s+/))
 *    .filter((w) => w.length > 0)
 *    .sink(sinks.stdout());
 * export default job;
 * ```
 *
 * @packageDocumentation
 */
import { JOB_BRAND } from "./brand.js";
import type { JobHandle, SubmitOptions } from "./client.js";
import type { Job } from "./job.js";

export { Job, Stream, WindowStream, JobBuildError } from "./job.js";
export type { JobOptions, JobParams, KeyByOptions, SinkOptions, TimestampOptions, UserFunction } from "./job.js";
export { KeyedStream, WindowedStream, JoinedStreams, IntervalJoin } from "./keyed.js";
export type { AggregateFunction, ProcessContext, ProcessFunction, WindowOptions, WindowTrigger } from "./keyed.js";
export type { Window, WindowAssigner, WindowResult } from "./windows.js";
export type { Duration, DurationUnit } from "./duration.js";
export { toMillis } from "./duration.js";
export type { Source, Sink, OperatorDescriptor, OperatorParts } from "./operators.js";
export type { JobSpec, OperatorSpec, EdgeSpec, Partitioning } from "./spec.js";
export type { RunOptions } from "./run.js";
export type { RetryOptions } from "./retry.js";
export type {
  JobHandle,
  JobState,
  JobStatus,
  ResultsOptions,
  SubmitOptions,
  TaskState,
  TaskStatus,
} from "./client.js";
export type { NexmarkAuction, NexmarkBid, NexmarkEvent, NexmarkPerson } from "./nexmark.js";
export type {
  DeliveryGuarantee,
  KafkaSinkOptions,
  MySqlSinkOptions,
  RedisArg,
  RedisCommand,
  RedisCommands,
  RedisSinkOptions,
  SqlValue,
  FileSinkOptions,
} from "./sinks.js";
export type {
  FileSourceOptions,
  GeneratorFnOptions,
  GeneratorOptions,
  KafkaSourceOptions,
  KafkaWatermarks,
  NexmarkOptions,
} from "./sources.js";

export type { KafkaBytes, KafkaFormat, KafkaHeader, KafkaRecord, KafkaStartFrom } from "./kafka.js";
export { ALLOWED_GLOBALS } from "./globals.js";

import * as sources from "./sources.js";
import * as sinks from "./sinks.js";
import * as windows from "./windows.js";

/** Window assigners: `windows.tumbling`, `windows.sliding`, `windows.session`. */
export { windows };

/** Where records come from: `sources.file`, `sources.generator`, `sources.nexmark`, `sources.kafka`. */
export { sources };
/**
 * Where records go: `sinks.stdout`, `sinks.file`, `sinks.collect`, `sinks.discard`,
 * `sinks.redis`, `sinks.mysql`, `sinks.kafka`.
 */
export { sinks };

/**
 * True when `value` is a Job from any copy of this SDK (a job file may use its own installed
 * copy); checks the `Symbol.for("sluice.job")` brand.
 */
export function isJob(value: unknown): value is Job<object> {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[JOB_BRAND] === 1 &&
    typeof (value as { toSpec?: unknown }).toSpec === "function"
  );
}

/**
 * A handle to a job already on a coordinator, by id.
 *
 * @param id - the job id (as printed by `sluice submit`)
 * @param options - the coordinator's address and call deadline
 */
export async function connect<R = unknown>(
  id: string,
  options?: SubmitOptions,
): Promise<JobHandle<R>> {
  const client = await import("./client.js");
  return client.connect<R>(id, options);
}
