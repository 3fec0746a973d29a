/** The job-building API: {@link Job} and {@link Stream}. */
import { isCompiling, JOB_BRAND, paramOverrides, paramTexts } from "./brand.js";
import type { JobHandle, SubmitOptions } from "./client.js";
import { toMillis, type Duration } from "./duration.js";
import { prepareFunction } from "./functions.js";
import type { OperatorDescriptor, OperatorParts, Sink, Source } from "./operators.js";
import type { RunOptions } from "./run.js";
import { KeyedStream } from "./keyed.js";
import { applyParams } from "./params.js";
import type { EdgeSpec, JobSpec, OperatorSpec } from "./spec.js";
import { checkPositiveInt } from "./validate.js";

/** The params object every user function receives as its last argument. */
export type JobParams = object;

/** Options of {@link Job}. */
export interface JobOptions<P extends JobParams = Record<string, unknown>> {
  /** Default parallelism of the job's operators (default 1). */
  readonly parallelism?: number;
  /** Number of key groups, the upper bound for rescaling (default 128). */
  readonly maxParallelism?: number;
  /** How often to checkpoint (default: no checkpoints). */
  readonly checkpointInterval?: Duration;
  /** How long a checkpoint may take before it is given up (default 60 s). */
  readonly checkpointTimeout?: Duration;
  /** How many completed checkpoints to keep (default 3). */
  readonly checkpointsRetained?: number;
  /**
   * "exactly-once" (default): tasks with several inputs align checkpoint barriers;
   * "at-least-once": they do not (lower latency; a replay may repeat records).
   */
  readonly checkpointMode?: "exactly-once" | "at-least-once";
  /**
   * What to do when a task fails or a worker is lost: restart from the last completed checkpoint
   * after `delay`, at most `attempts` times. Default: with checkpoints 10 attempts 1 s apart,
   * without them no restart (the job fails).
   */
  readonly restart?: { readonly attempts: number; readonly delay?: Duration };
  /** JSON-compatible values handed to every user function as its last argument. */
  readonly params?: P;
  /** Longest a single call into user functions may run (default 10 s). */
  readonly callTimeout?: Duration;
  /** V8 heap limit per task in MB (default 256). */
  readonly heapLimitMb?: number;
  /**
   * Keyed-state entries each task keeps in memory (default 100,000); colder state lives in the
   * task's RocksDB.
   */
  readonly stateCacheEntries?: number;
  /**
   * Local pre-aggregation before a keyBy into a window (default true): where the window is an
   * event-time tumbling or sliding one with the default trigger and its function merges
   * (`count()`, `reduce`, `aggregate` with `merge`), each sending task folds the records of a
   * key and slice of time within a batch into a partial accumulator and sends that instead (the
   * plan shows `-> combine(<window>)`). Results are the same either way; `false` sends every
   * record as it is.
   */
  readonly combiners?: boolean;
}

/** The problems that stop a job from being built, each naming the operator. */
export class JobBuildError extends Error {
  /** Every problem, one line each. */
  readonly problems: readonly string[];
  constructor(jobName: string, problems: readonly string[]) {
    super(
      problems.length === 1
        ? problems[0]
        : `job '${jobName}' has ${problems.length} problems:\n` +
            problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "JobBuildError";
    this.problems = problems;
  }
}

/** @internal An operator as the job holds it until it is built. */
export interface OperatorNode {
  readonly id: string;
  readonly kind: string;
  readonly defaultName: string;
  name: string | undefined;
  parallelism: number | undefined;
  readonly parts: () => OperatorParts;
  downstream: number;
  /** Set when something consumes the operator's late records (windows). */
  lateOutput?: boolean;
}

/** An edge as the job holds it; a key selector is shipped when the job is built. */
interface GraphEdge {
  readonly from: string;
  readonly to: string;
  readonly partitioning: EdgeSpec["partitioning"];
  readonly keyFn?: unknown;
  readonly input?: number;
  readonly fromOutput?: string;
  readonly partitioned?: boolean;
}

interface Graph {
  readonly operators: OperatorNode[];
  readonly edges: GraphEdge[];
}

/** @internal Where an operator's input comes from. */
export interface Upstream {
  readonly node: OperatorNode;
  readonly keyFn?: unknown;
  /** With keyFn: the stream is already partitioned by this key (`keyBy(fn, { partitioned })`). */
  readonly partitioned?: boolean;
  readonly partitioning?: "REBALANCE" | "BROADCAST";
  /** Which input of a two-input operator (default 0). */
  readonly input?: number;
  /** "late": the upstream's late records. */
  readonly fromOutput?: string;
}

const graphs = new WeakMap<object, Graph>();

function graphOf(job: object): Graph {
  const graph = graphs.get(job);
  if (graph === undefined) throw new Error("not a Sluice job");
  return graph;
}

/** @internal Adds an operator fed by `upstream` to the job's graph. */
export function addOperator(
  job: object,
  kind: string,
  label: string,
  parts: () => OperatorParts,
  upstream: OperatorNode | null | readonly Upstream[],
): OperatorNode {
  const graph = graphOf(job);
  const n = graph.operators.length + 1;
  const node: OperatorNode = {
    id: `op${n}`,
    kind,
    defaultName: `${label}#${n}`,
    name: undefined,
    parallelism: undefined,
    parts,
    downstream: 0,
  };
  graph.operators.push(node);
  const inputs: readonly Upstream[] =
    upstream === null ? [] : Array.isArray(upstream) ? upstream : [{ node: upstream as OperatorNode }];
  for (const input of inputs) {
    const extra = {
      ...(input.input ? { input: input.input } : {}),
      ...(input.fromOutput ? { fromOutput: input.fromOutput } : {}),
      ...(input.partitioned && input.keyFn !== undefined ? { partitioned: true } : {}),
    };
    graph.edges.push(
      input.keyFn === undefined
        ? { from: input.node.id, to: node.id, partitioning: input.partitioning ?? "FORWARD", ...extra }
        : { from: input.node.id, to: node.id, partitioning: "HASH", keyFn: input.keyFn, ...extra },
    );
    if (input.fromOutput === undefined) input.node.downstream++;
  }
  return node;
}

/**
 * A dataflow job. Build it with {@link Job.source} and the {@link Stream} methods, then
 * `export default` it for `sluice run` / `sluice submit`, or call {@link Job.run} or
 * {@link Job.submit} from a Node program.
 *
 * @typeParam P - the type of `params`, inferred from the options
 */
export class Job<P extends JobParams = Record<string, unknown>> {
  /** The job's name, shown by the coordinator. */
  readonly name: string;
  /** The options the job was made with. */
  readonly options: Readonly<JobOptions<P>>;

  /**
   * @param name - the job's name
   * @param options - job-wide settings and `params`
   * @throws Error for an empty name or an invalid option
   */
  constructor(name: string, options: JobOptions<P> = {}) {
    if (typeof name !== "string" || name.trim() === "") {
      throw new Error("new Job(name): the name must be a non-empty string");
    }
    const o = options ?? {};
    if (o.parallelism !== undefined) checkPositiveInt(o.parallelism, `job '${name}': parallelism`);
    if (o.maxParallelism !== undefined) {
      checkPositiveInt(o.maxParallelism, `job '${name}': maxParallelism`);
    }
    if (o.heapLimitMb !== undefined) checkPositiveInt(o.heapLimitMb, `job '${name}': heapLimitMb`);
    if (o.stateCacheEntries !== undefined) {
      checkPositiveInt(o.stateCacheEntries, `job '${name}': stateCacheEntries`);
    }
    if (o.checkpointInterval !== undefined) toMillis(o.checkpointInterval, `job '${name}': checkpointInterval`);
    if (o.checkpointTimeout !== undefined) toMillis(o.checkpointTimeout, `job '${name}': checkpointTimeout`);
    if (o.checkpointsRetained !== undefined) {
      checkPositiveInt(o.checkpointsRetained, `job '${name}': checkpointsRetained`);
    }
    if (o.checkpointMode !== undefined && o.checkpointMode !== "exactly-once" && o.checkpointMode !== "at-least-once") {
      throw new Error(`job '${name}': checkpointMode must be "exactly-once" or "at-least-once", not ${JSON.stringify(o.checkpointMode)}`);
    }
    if (o.restart !== undefined) {
      if (typeof o.restart !== "object" || o.restart === null ||
          !Number.isInteger(o.restart.attempts) || o.restart.attempts < 0) {
        throw new Error(`job '${name}': restart.attempts must be a whole number >= 0`);
      }
      if (o.restart.delay !== undefined) toMillis(o.restart.delay, `job '${name}': restart.delay`);
    }
    if (o.callTimeout !== undefined) toMillis(o.callTimeout, `job '${name}': callTimeout`);
    if (o.combiners !== undefined && typeof o.combiners !== "boolean") {
      throw new Error(`job '${name}': combiners must be true or false, not ${JSON.stringify(o.combiners)}`);
    }
    if (o.params !== undefined && (typeof o.params !== "object" || o.params === null || Array.isArray(o.params))) {
      throw new Error(`job '${name}': params must be a plain object of JSON-compatible values`);
    }
    this.name = name;
    const texts = paramTexts();
    const overrides = paramOverrides();
    if (texts !== undefined && Object.keys(texts).length > 0) {
      // `--param`: each key must be one of the params, read as its default's type.
      const defaults = (o.params ?? {}) as Record<string, unknown>;
      this.options = { ...o, params: applyParams(name, defaults, texts) as P };
    } else {
      this.options =
        Object.keys(overrides).length > 0 ? { ...o, params: { ...o.params, ...overrides } as P } : { ...o };
    }
    graphs.set(this, { operators: [], edges: [] });
    Object.defineProperty(this, JOB_BRAND, { value: 1, enumerable: false });
  }

  /**
   * The job's params as its functions will see them, including `sluice run --param k=v`
   * overrides, so that build-time settings (a source's event count, say) can follow them too.
   */
  get params(): Readonly<P> {
    return (this.options.params ?? {}) as Readonly<P>;
  }

  /**
   * Starts a stream from a source.
   *
   * @param source - one of `sources.*`
   * @returns the stream of the source's records
   */
  source<T>(source: Source<T>): Stream<T, P> {
    checkDescriptor(source, "source", "job.source(...) expects one of sources.*");
    const node = addOperator(this, source.kind, source.label, () => source.build(), null);
    return new Stream<T, P>(this, node);
  }

  /**
   * Builds the JobSpec: resolves relative paths, ships every user function as source text and
   * checks that each one is self-contained.
   *
   * @throws JobBuildError listing every problem, each naming its operator
   */
  toSpec(): JobSpec {
    const graph = graphOf(this);
    const problems: string[] = [];
    if (graph.operators.length === 0) {
      problems.push(`job '${this.name}' has no source; start a stream with job.source(...)`);
    }
    const byName = new Map<string, string>();
    const operators: OperatorSpec[] = graph.operators.map((op) => {
      const name = op.name ?? op.defaultName;
      const where = `operator '${name}' (${op.id})`;
      const other = byName.get(name);
      if (other !== undefined) {
        problems.push(`${where}: the name is also used by ${other}; operator names must be unique`);
      }
      byName.set(name, op.id);
      if (op.downstream === 0 && !op.kind.startsWith("sink.")) {
        problems.push(`${where}: its output goes nowhere; end the stream with .sink(...)`);
      }
      const parts = op.parts();
      const functions: Record<string, string> = {};
      for (const [role, fn] of Object.entries(parts.functions)) {
        const prepared = prepareFunction(fn);
        const label = role === "fn" ? "" : ` (function '${role}')`;
        for (const p of prepared.problems) problems.push(`${where}${label}: ${p}`);
        functions[role] = prepared.source;
      }
      return {
        id: op.id,
        name,
        kind: op.kind,
        parallelism: op.parallelism ?? 0,
        configJson: JSON.stringify(parts.config),
        functions,
      };
    });
    const nameOf = new Map(operators.map((op) => [op.id, op.name]));
    const edges: EdgeSpec[] = graph.edges.map((e) => {
      const extra = {
        ...(e.input ? { input: e.input } : {}),
        ...(e.fromOutput ? { fromOutput: e.fromOutput } : {}),
        ...(e.partitioned ? { partitioned: true } : {}),
      };
      if (e.keyFn === undefined) return { from: e.from, to: e.to, partitioning: e.partitioning, ...extra };
      const prepared = prepareFunction(e.keyFn);
      for (const p of prepared.problems) {
        problems.push(`operator '${nameOf.get(e.to)}' (${e.to}) (key selector): ${p}`);
      }
      return { from: e.from, to: e.to, partitioning: e.partitioning, keyFn: prepared.source, ...extra };
    });
    let paramsJson = "{}";
    try {
      paramsJson = JSON.stringify(this.options.params ?? {});
    } catch (e) {
      problems.push(`job '${this.name}': params cannot be turned into JSON: ${(e as Error).message}`);
    }
    if (problems.length > 0) throw new JobBuildError(this.name, problems);
    const o = this.options;
    return {
      name: this.name,
      operators,
      edges,
      parallelism: o.parallelism ?? 0,
      maxParallelism: o.maxParallelism ?? 0,
      checkpointIntervalMs:
        o.checkpointInterval === undefined ? 0 : toMillis(o.checkpointInterval, "checkpointInterval"),
      paramsJson,
      callTimeoutMs: o.callTimeout === undefined ? 0 : toMillis(o.callTimeout, "callTimeout"),
      heapLimitMb: o.heapLimitMb ?? 0,
      ...(o.stateCacheEntries !== undefined ? { stateCacheEntries: o.stateCacheEntries } : {}),
      ...(o.combiners === false ? { noCombiners: true } : {}),
      ...(o.checkpointTimeout !== undefined
        ? { checkpointTimeoutMs: toMillis(o.checkpointTimeout, "checkpointTimeout") }
        : {}),
      ...(o.checkpointsRetained !== undefined ? { checkpointsRetained: o.checkpointsRetained } : {}),
      ...(o.checkpointMode === "at-least-once" ? { checkpointMode: "AT_LEAST_ONCE" as const } : {}),
      ...(o.restart !== undefined
        ? {
            restart: {
              maxAttempts: o.restart.attempts,
              delayMs: o.restart.delay === undefined ? 1000 : toMillis(o.restart.delay, "restart.delay"),
            },
          }
        : {}),
    };
  }

  /** True when some stream of the job ends in `sinks.collect()`. */
  get collects(): boolean {
    return graphOf(this).operators.some((op) => op.kind === "sink.collect");
  }

  /**
   * Runs the job on an embedded local cluster by starting `sluice run` and waits until it ends.
   *
   * @typeParam R - the type of the collected records
   * @returns the records of `sinks.collect()` (empty when the job has no collect sink)
   * @throws JobBuildError before starting, or an Error with the CLI's message when it fails
   */
  async run<R = unknown>(options: RunOptions = {}): Promise<R[]> {
    refuseWhileCompiling("run");
    const spec = this.toSpec();
    // Loaded here, not at the top: a compile (`sluice run job.ts`) never runs a job this way,
    // and run.js brings child_process and fs/promises with it.
    const { runSpec } = await import("./run.js");
    return (await runSpec(spec, options)) as R[];
  }

  /**
   * Submits the job to a coordinator.
   *
   * @typeParam R - the type of the collected records
   * @returns a handle to watch, cancel and read the job
   * @throws JobBuildError, the coordinator's validation problems, or an unreachable coordinator
   */
  async submit<R = unknown>(options: SubmitOptions = {}): Promise<JobHandle<R>> {
    refuseWhileCompiling("submit");
    const spec = this.toSpec();
    const client = await import("./client.js");
    return client.submitSpec<R>(spec, options);
  }
}

function refuseWhileCompiling(what: string): void {
  if (isCompiling()) {
    throw new Error(
      `job.${what}() was called while the job file was being compiled; ` +
        "a job file for the sluice CLI should only `export default job`",
    );
  }
}

function checkDescriptor(d: OperatorDescriptor, prefix: string, message: string): void {
  if (typeof d !== "object" || d === null || typeof d.kind !== "string" || !d.kind.startsWith(`${prefix}.`)) {
    throw new Error(message);
  }
}

/** Options of {@link Stream.keyBy}. */
export interface KeyByOptions {
  /**
   * The stream is already partitioned by this key (default false): no exchange, the keyed
   * operator runs in its input's task, and each subtask checks its keys are its own.
   */
  readonly partitioned?: boolean;
}

/** Options of {@link Stream.assignTimestamps}. */
export interface TimestampOptions {
  /** How late (behind the greatest event time seen) records may arrive (default 0). */
  readonly maxOutOfOrderness?: Duration;
  /** After this long without records the input counts as idle (default: never). */
  readonly idleTimeout?: Duration;
}

/** Options of {@link Stream.sink}. */
export interface SinkOptions {
  /** The sink operator's name (default like "sink.stdout#5"). */
  readonly name?: string;
  /** The sink operator's parallelism (default the job's). */
  readonly parallelism?: number;
}

/** A user function: the record, then the job's params. */
export type UserFunction<T, P, R> = (record: T, params: P) => R;

/**
 * A stream of records of type `T`. Every method that adds an operator returns the stream of
 * that operator's output; {@link Stream.name} and {@link Stream.parallelism} configure the
 * operator that produced this stream.
 */
export class Stream<T, P extends JobParams = Record<string, unknown>> {
  readonly #job: Job<P>;
  readonly #node: OperatorNode;
  readonly #partitioning: "REBALANCE" | "BROADCAST" | undefined;

  /** @internal Streams are made by {@link Job.source} and the stream methods. */
  constructor(job: Job<P>, node: OperatorNode, partitioning?: "REBALANCE" | "BROADCAST") {
    this.#job = job;
    this.#node = node;
    this.#partitioning = partitioning;
  }

  get #upstream(): Upstream[] {
    return [{ node: this.#node, ...(this.#partitioning ? { partitioning: this.#partitioning } : {}) }];
  }

  /** Spreads the records round robin over the next operator's parallel instances. */
  rebalance(): Stream<T, P> {
    return new Stream<T, P>(this.#job, this.#node, "REBALANCE");
  }

  /** Sends every record to every parallel instance of the next operator. */
  broadcast(): Stream<T, P> {
    return new Stream<T, P>(this.#job, this.#node, "BROADCAST");
  }

  #add<U>(kind: string, label: string, fn: unknown): Stream<U, P> {
    if (typeof fn !== "function") throw new Error(`${label}(fn): fn must be a function`);
    const node = addOperator(this.#job, kind, label, () => ({ config: {}, functions: { fn } }), this.#upstream);
    return new Stream<U, P>(this.#job, node);
  }

  /** Transforms every record: `fn(record, params)` returns the output record. */
  map<U>(fn: UserFunction<T, P, U>): Stream<U, P> {
    return this.#add<U>("map", "map", fn);
  }

  /** Keeps the records for which `fn(record, params)` is truthy. */
  filter<S extends T>(fn: (record: T, params: P) => record is S): Stream<S, P>;
  filter(fn: UserFunction<T, P, unknown>): Stream<T, P>;
  filter(fn: UserFunction<T, P, unknown>): Stream<T, P> {
    return this.#add<T>("filter", "filter", fn);
  }

  /** Turns every record into zero or more: `fn(record, params)` returns an array or iterable. */
  flatMap<U>(fn: UserFunction<T, P, Iterable<U>>): Stream<U, P> {
    return this.#add<U>("flat_map", "flatMap", fn);
  }

  /**
   * Partitions the stream by key: records with equal keys go to the same parallel instance of
   * the next (keyed) operator. `fn(record, params)` returns the key (a string, a number, or a
   * JSON-compatible value).
   *
   * `{ partitioned: true }` says the stream is already partitioned by this key: it comes from a
   * keyed operator of the same parallelism whose records keep the key it was keyed by (a
   * window's count keyed by `c => c.key` after `keyBy(r => r.k)`). The keyed operator then runs
   * in its input's task, with no exchange (Flink's `reinterpretAsKeyedStream`); each subtask
   * checks that every key is its own and fails the job naming the key if not.
   */
  keyBy<K>(fn: UserFunction<T, P, K>, options: KeyByOptions = {}): KeyedStream<K, T, P> {
    if (typeof fn !== "function") throw new Error("keyBy(fn): fn must be a function");
    if (typeof options !== "object" || options === null) {
      throw new Error("keyBy(fn, options): options must be an object such as { partitioned: true }");
    }
    const { partitioned, ...rest } = options as Record<string, unknown>;
    const unknown = Object.keys(rest);
    if (unknown.length > 0) {
      throw new Error(`keyBy(fn, options): unknown option ${JSON.stringify(unknown[0])}; the only one is partitioned`);
    }
    if (partitioned !== undefined && typeof partitioned !== "boolean") {
      throw new Error(`keyBy(fn, options): partitioned must be true or false, not ${JSON.stringify(partitioned)}`);
    }
    return new KeyedStream<K, T, P>(this, fn, partitioned === true);
  }

  /**
   * Gives every record its event time, `fn(record, params)` in epoch milliseconds, and emits
   * watermarks behind the greatest time seen: records may arrive up to `maxOutOfOrderness` late
   * (default 0). An input with no records for `idleTimeout` stops holding back the watermark of
   * the operators downstream until it has records again (default: never idle).
   */
  assignTimestamps(fn: UserFunction<T, P, number>, options: TimestampOptions = {}): Stream<T, P> {
    if (typeof fn !== "function") throw new Error("assignTimestamps(fn): fn must be a function");
    const config: Record<string, number> = {};
    if (options.maxOutOfOrderness !== undefined) {
      config.maxOutOfOrderness = toMillis(options.maxOutOfOrderness, "assignTimestamps: maxOutOfOrderness");
    }
    if (options.idleTimeout !== undefined) {
      config.idleTimeout = toMillis(options.idleTimeout, "assignTimestamps: idleTimeout");
    }
    const node = addOperator(
      this.#job,
      "assign_timestamps",
      "assignTimestamps",
      () => ({ config, functions: { fn } }),
      this.#upstream,
    );
    return new Stream<T, P>(this.#job, node);
  }

  /** @internal The job and where this stream's records come from, for the keyed API. */
  static parts<T, P extends JobParams>(stream: Stream<T, P>): { job: Job<P>; upstream: Upstream[]; node: OperatorNode } {
    return { job: stream.#job, upstream: stream.#upstream, node: stream.#node };
  }

  /** Merges this stream with others of the same record type into one stream. */
  union(...others: Stream<T, P>[]): Stream<T, P> {
    const inputs: Upstream[] = [...this.#upstream];
    for (const other of others) {
      if (!(other instanceof Stream) || other.#job !== this.#job) {
        throw new Error("union(...streams): every stream must come from the same job");
      }
      inputs.push(...other.#upstream);
    }
    const node = addOperator(this.#job, "union", "union", () => ({ config: {}, functions: {} }), inputs);
    return new Stream<T, P>(this.#job, node);
  }

  /**
   * Ends the stream in a sink.
   *
   * @param sink - one of `sinks.*`
   * @param options - the sink operator's name and parallelism
   * @returns the job, so a job file can end with `export default job.source(...)...sink(...)`
   */
  sink(sink: Sink<T, P>, options: SinkOptions = {}): Job<P> {
    checkDescriptor(sink, "sink", ".sink(...) expects one of sinks.*");
    const node = addOperator(this.#job, sink.kind, sink.label, () => sink.build(), this.#upstream);
    const stream = new Stream<never, P>(this.#job, node);
    if (options.name !== undefined) stream.name(options.name);
    if (options.parallelism !== undefined) stream.parallelism(options.parallelism);
    return this.#job;
  }

  /** Names the operator that produced this stream (shown in errors, status and metrics). */
  name(name: string): this {
    if (typeof name !== "string" || name.trim() === "") {
      throw new Error(`name(...) on ${this.#node.id}: the name must be a non-empty string`);
    }
    this.#node.name = name;
    return this;
  }

  /** Sets the parallelism of the operator that produced this stream. */
  parallelism(n: number): this {
    this.#node.parallelism = checkPositiveInt(n, `parallelism(...) on ${this.#node.name ?? this.#node.defaultName}`);
    return this;
  }
}

/** The results of a window: a stream, plus the window's late records. */
export class WindowStream<R, T, P extends JobParams = Record<string, unknown>> extends Stream<R, P> {
  readonly #windowJob: Job<P>;
  readonly #windowNode: OperatorNode;

  /** @internal */
  constructor(job: Job<P>, node: OperatorNode) {
    super(job, node);
    this.#windowJob = job;
    this.#windowNode = node;
  }

  /** The records that came too late for their windows (after the allowed lateness). */
  lateRecords(): Stream<T, P> {
    this.#windowNode.lateOutput = true;
    const node = addOperator(this.#windowJob, "map", "lateRecords", () => ({ config: {}, functions: { fn: (r: T) => r } }), [
      { node: this.#windowNode, fromOutput: "late" },
    ]);
    return new Stream<T, P>(this.#windowJob, node);
  }
}
