/**
 * The JobSpec (proto/sluice/job.proto) in protobuf's JSON mapping: lowerCamelCase fields,
 * enums as strings. `Job.toSpec()` returns it; the coordinator reads it unchanged.
 */

/** One operator of a job. */
export interface OperatorSpec {
  /** Unique within the job: "op1", "op2", ... in creation order. */
  id: string;
  /** Shown in errors, status and metrics; unique within the job. */
  name: string;
  /** The operator kind: "source.file", "map", "flat_map", "sink.stdout", ... */
  kind: string;
  /** 0 means the job's parallelism. */
  parallelism: number;
  /** The kind's configuration as a JSON object text. */
  configJson: string;
  /** User functions by role ("fn"), as JavaScript source text. */
  functions: Record<string, string>;
}

/** How records cross an edge. This version emits only "FORWARD". */
export type Partitioning = "FORWARD" | "REBALANCE" | "HASH" | "BROADCAST";

/** A connection from one operator to the next. */
export interface EdgeSpec {
  from: string;
  to: string;
  partitioning: Partitioning;
  /** With "HASH": the key selector's source text. */
  keyFn?: string;
  /** Which input of a two-input operator (a join's right side is 1). */
  input?: number;
  /** "late": the edge carries a window's late records (its side output). */
  fromOutput?: string;
  /** With "HASH": already partitioned by this key (`keyBy(fn, { partitioned: true })`). */
  partitioned?: boolean;
}

/** A whole job. Zero means "the coordinator's default" for the numeric job settings. */
export interface JobSpec {
  name: string;
  operators: OperatorSpec[];
  edges: EdgeSpec[];
  /** Default parallelism of operators (0: 1). */
  parallelism: number;
  /** Number of key groups (0: 128). */
  maxParallelism: number;
  /** 0: no checkpoints. */
  checkpointIntervalMs: number;
  /** The params object as JSON text, handed to every user function. */
  paramsJson: string;
  /** Longest a single call into a user function may run (0: 10000). */
  callTimeoutMs: number;
  /** V8 heap limit per task in MB (0: 256). */
  heapLimitMb: number;
  /** Keyed-state entries a task keeps in memory before evicting to RocksDB (0: 100000). */
  stateCacheEntries?: number;
  /** No local pre-aggregation before keyed exchanges into windows (JobOptions.combiners). */
  noCombiners?: boolean;
  /** Longest a checkpoint may take (0: 60000). */
  checkpointTimeoutMs?: number;
  /** Completed checkpoints kept (0: 3). */
  checkpointsRetained?: number;
  /** Barrier alignment (default EXACTLY_ONCE). */
  checkpointMode?: "EXACTLY_ONCE" | "AT_LEAST_ONCE";
  /** Restarts after failures (default: see JobOptions.restart). */
  restart?: { maxAttempts: number; delayMs: number };
  /** A savepoint or checkpoint directory to start from. */
  restoreFrom?: string;
}
