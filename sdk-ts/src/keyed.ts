/**
 * The keyed API: {@link KeyedStream} (made by `Stream.keyBy`) and what it leads to — running
 * reduce/aggregate, windows, joins and keyed process functions. Every operator here keeps state
 * per key; the job's tasks keep it in RocksDB with a cache in front.
 */
import { toMillis, type Duration } from "./duration.js";
import { addOperator, Stream, WindowStream, type Job, type JobParams, type OperatorNode, type UserFunction, type Upstream } from "./job.js";
import type { Window, WindowAssigner, WindowResult } from "./windows.js";

/** An aggregate: an accumulator per key (or per key and window). */
export interface AggregateFunction<T, A, R, P> {
  /** A new, empty accumulator. */
  create(params: P): A;
  /** Folds one record into the accumulator and returns it. */
  add(accumulator: A, record: T, params: P): A;
  /**
   * Combines two accumulators (needed by session windows, which merge; with it, sliding event-time
   * windows keep one accumulator per slice of time and merge them when a window fires). It may
   * change and return `a`, but must not change `b`.
   */
  merge?(a: A, b: A, params: P): A;
  /** What is emitted for an accumulator (default: the accumulator itself). */
  result?(accumulator: A, params: P): R;
}

/** When a window emits. */
export type WindowTrigger = "eventTime" | "processingTime" | { readonly count: number };

/** Options of {@link KeyedStream.window}. */
export interface WindowOptions {
  /**
   * "event" (default): windows by the records' event time (see `assignTimestamps`), emitted when
   * the watermark passes their end. "processing": by the wall clock when records arrive (read
   * once per batch of records, so a batch's records fall into one window).
   */
  readonly time?: "event" | "processing";
  /**
   * When windows emit: at their end in event time (default for event time) or processing time
   * (default for processing time), or every `count` records of the window.
   */
  readonly trigger?: WindowTrigger;
  /**
   * How long after a window's end records may still update it (default 0): each such record
   * emits the window's updated result again. Later records are late: counted in metrics, and
   * available as a stream with `lateRecords()` on the window's result.
   */
  readonly allowedLateness?: Duration;
}

/** What a keyed process function's functions receive: the key, state, timers and output. */
export interface ProcessContext<K, O> {
  /** The current key. */
  readonly key: K;
  /** The record's event time, or the firing timer's time. */
  readonly timestamp: number | undefined;
  /** In onTimer: which clock the timer was on. */
  readonly timeDomain?: "event" | "processing";
  /** A value kept per key under `name`. */
  value<V>(name: string): { value(): V | undefined; update(value: V): void; clear(): void };
  /** A map kept per key under `name` (string keys). */
  map<V>(name: string): {
    get(key: string): V | undefined;
    put(key: string, value: V): void;
    remove(key: string): void;
    contains(key: string): boolean;
    keys(): string[];
    values(): V[];
    entries(): [string, V][];
    isEmpty(): boolean;
    clear(): void;
  };
  readonly timerService: {
    currentWatermark(): number;
    currentProcessingTime(): number;
    registerEventTimeTimer(time: number): void;
    registerProcessingTimeTimer(time: number): void;
    deleteEventTimeTimer(time: number): void;
    deleteProcessingTimeTimer(time: number): void;
  };
  /** Sends a record downstream (with the current timestamp). */
  emit(record: O): void;
}

/** A keyed process function, in the spirit of Flink's KeyedProcessFunction. */
export interface ProcessFunction<K, T, O, P> {
  processElement(record: T, ctx: ProcessContext<K, O>, params: P): void;
  onTimer?(timestamp: number, ctx: ProcessContext<K, O>, params: P): void;
}

function needFunction(fn: unknown, what: string): void {
  if (typeof fn !== "function") throw new Error(`${what} must be a function`);
}

function aggregateFunctions(agg: AggregateFunction<unknown, unknown, unknown, unknown>, what: string): Record<string, unknown> {
  if (typeof agg !== "object" || agg === null) throw new Error(`${what}: expects { create, add, merge?, result? }`);
  needFunction(agg.create, `${what}: create`);
  needFunction(agg.add, `${what}: add`);
  const fns: Record<string, unknown> = { create: agg.create, add: agg.add };
  if (agg.merge !== undefined) {
    needFunction(agg.merge, `${what}: merge`);
    fns.merge = agg.merge;
  }
  if (agg.result !== undefined) {
    needFunction(agg.result, `${what}: result`);
    fns.result = agg.result;
  }
  return fns;
}

/** A duration that may be negative: a number of ms, or a Duration string with a leading "-". */
function signedMillis(value: number | string, what: string): number {
  if (typeof value === "number" && Number.isFinite(value)) return Math.round(value);
  if (typeof value === "string" && value.trim().startsWith("-")) {
    return -toMillis(value.trim().slice(1) as Duration, what);
  }
  return toMillis(value as Duration, what);
}

function checkAssigner(assigner: WindowAssigner, what: string): void {
  if (typeof assigner !== "object" || assigner === null || typeof (assigner as { type?: unknown }).type !== "string") {
    throw new Error(`${what}: expects a window assigner (windows.tumbling, windows.sliding, windows.session)`);
  }
}

/**
 * A stream partitioned by key (made by `Stream.keyBy`); its operators keep state per key.
 *
 * @typeParam K - the key's type
 * @typeParam T - the record type
 */
export class KeyedStream<K, T, P extends JobParams = Record<string, unknown>> {
  readonly #job: Job<P>;
  readonly #node: OperatorNode;
  readonly #keyFn: unknown;
  readonly #partitioned: boolean;

  /** @internal Made by `Stream.keyBy`. */
  constructor(stream: Stream<T, P>, keyFn: UserFunction<T, P, K>, partitioned = false) {
    const parts = Stream.parts(stream);
    this.#job = parts.job;
    this.#node = parts.node;
    this.#keyFn = keyFn;
    this.#partitioned = partitioned;
  }

  #input(input = 0): Upstream {
    return {
      node: this.#node,
      keyFn: this.#keyFn,
      ...(input ? { input } : {}),
      ...(this.#partitioned ? { partitioned: true } : {}),
    };
  }

  #add<U>(kind: string, label: string, config: Record<string, unknown>, functions: Record<string, unknown>, inputs: Upstream[] = [this.#input()]): Stream<U, P> {
    const node = addOperator(this.#job, kind, label, () => ({ config, functions }), inputs);
    return new Stream<U, P>(this.#job, node);
  }

  /**
   * A running reduce per key: the first record of a key is its value, then
   * `fn(value, record, params)` folds in each next record; after every record the key's
   * updated value goes on.
   */
  reduce(fn: (value: T, record: T, params: P) => T): Stream<T, P> {
    needFunction(fn, "reduce(fn): fn");
    return this.#add<T>("reduce", "reduce", {}, { fn });
  }

  /** A running aggregate per key: after every record, `result(accumulator)` goes on. */
  aggregate<A, R = A>(agg: AggregateFunction<T, A, R, P>): Stream<R, P> {
    const fns = aggregateFunctions(agg as AggregateFunction<unknown, unknown, unknown, unknown>, "aggregate(...)");
    return this.#add<R>("aggregate", "aggregate", {}, fns);
  }

  /** Groups each key's records into windows; finish with reduce, aggregate or count. */
  window(assigner: WindowAssigner, options: WindowOptions = {}): WindowedStream<K, T, P> {
    checkAssigner(assigner, "window(assigner)");
    const config: Record<string, unknown> = { assigner };
    if (options.time !== undefined) {
      if (options.time !== "event" && options.time !== "processing") {
        throw new Error(`window(...): time must be "event" or "processing", not ${JSON.stringify(options.time)}`);
      }
      config.time = options.time;
    }
    if (options.trigger !== undefined) config.trigger = triggerConfig(options.trigger);
    if (options.allowedLateness !== undefined) {
      config.allowedLateness = toMillis(options.allowedLateness, "window(...): allowedLateness");
    }
    return new WindowedStream<K, T, P>(this.#job, this.#input(), config);
  }

  /**
   * Joins this stream with another keyed by an equal key: `.window(assigner).apply(fn)` pairs
   * the two sides' records of the same key and window.
   */
  join<U>(other: KeyedStream<K, U, P>): JoinedStreams<K, T, U, P> {
    if (!(other instanceof KeyedStream) || other.#job !== this.#job) {
      throw new Error("join(other): other must be a keyed stream of the same job");
    }
    return new JoinedStreams<K, T, U, P>(this.#job, [this.#input(0), other.#input(1)]);
  }

  /**
   * Joins each record l of this stream with the records r of `other` with the same key and
   * `l.ts + lower <= r.ts <= l.ts + upper` (event time; lower and upper may be negative).
   */
  intervalJoin<U>(other: KeyedStream<K, U, P>, bounds: { lower: number | string; upper: number | string }): IntervalJoin<T, U, P> {
    if (!(other instanceof KeyedStream) || other.#job !== this.#job) {
      throw new Error("intervalJoin(other, ...): other must be a keyed stream of the same job");
    }
    const lower = signedMillis(bounds?.lower, "intervalJoin: lower");
    const upper = signedMillis(bounds?.upper, "intervalJoin: upper");
    if (lower > upper) throw new Error(`intervalJoin: lower (${lower} ms) is above upper (${upper} ms)`);
    return new IntervalJoin<T, U, P>(this.#job, [this.#input(0), other.#input(1)], { lower, upper });
  }

  /** Runs a keyed process function: per-key value and map state, timers, any output. */
  process<O>(fn: ProcessFunction<K, T, O, P>): Stream<O, P> {
    if (typeof fn !== "object" || fn === null) throw new Error("process(...): expects { processElement, onTimer? }");
    needFunction(fn.processElement, "process(...): processElement");
    const fns: Record<string, unknown> = { processElement: fn.processElement };
    if (fn.onTimer !== undefined) {
      needFunction(fn.onTimer, "process(...): onTimer");
      fns.onTimer = fn.onTimer;
    }
    return this.#add<O>("process", "process", {}, fns);
  }
}

function triggerConfig(trigger: WindowTrigger): Record<string, unknown> {
  if (trigger === "eventTime") return { type: "event_time" };
  if (trigger === "processingTime") return { type: "processing_time" };
  if (typeof trigger === "object" && trigger !== null && Number.isInteger(trigger.count) && trigger.count > 0) {
    return { type: "count", count: trigger.count };
  }
  throw new Error(`window(...): trigger must be "eventTime", "processingTime" or { count: n > 0 }, not ${JSON.stringify(trigger)}`);
}

/** A keyed stream grouped into windows (made by {@link KeyedStream.window}). */
export class WindowedStream<K, T, P extends JobParams = Record<string, unknown>> {
  readonly #job: Job<P>;
  readonly #input: Upstream;
  readonly #config: Record<string, unknown>;

  /** @internal */
  constructor(job: Job<P>, input: Upstream, config: Record<string, unknown>) {
    this.#job = job;
    this.#input = input;
    this.#config = config;
  }

  #add<V>(label: string, fn: string, functions: Record<string, unknown>): WindowStream<WindowResult<K, V>, T, P> {
    let node: OperatorNode | undefined;
    const config = { ...this.#config, function: fn };
    node = addOperator(this.#job, "window", label, () => ({
      config: node?.lateOutput ? { ...config, lateOutput: true } : config,
      functions,
    }), [this.#input]);
    return new WindowStream<WindowResult<K, V>, T, P>(this.#job, node);
  }

  /** Per key and window, the records folded with `fn(a, b, params)`. */
  reduce(fn: (a: T, b: T, params: P) => T): WindowStream<WindowResult<K, T>, T, P> {
    needFunction(fn, "reduce(fn): fn");
    return this.#add<T>("window.reduce", "reduce", { reduce: fn });
  }

  /** Per key and window, an aggregate's result. */
  aggregate<A, R = A>(agg: AggregateFunction<T, A, R, P>): WindowStream<WindowResult<K, R>, T, P> {
    const fns = aggregateFunctions(agg as AggregateFunction<unknown, unknown, unknown, unknown>, "window aggregate(...)");
    return this.#add<R>("window.aggregate", "aggregate", fns);
  }

  /** Per key and window, the number of records. */
  count(): WindowStream<WindowResult<K, number>, T, P> {
    return this.#add<number>("window.count", "count", {});
  }
}

/** Two keyed streams to join (made by {@link KeyedStream.join}). */
export class JoinedStreams<K, L, R, P extends JobParams = Record<string, unknown>> {
  readonly #job: Job<P>;
  readonly #inputs: Upstream[];

  /** @internal */
  constructor(job: Job<P>, inputs: Upstream[]) {
    this.#job = job;
    this.#inputs = inputs;
  }

  /** Pairs the records of the same key in the same window. */
  window(assigner: WindowAssigner): { apply<O>(fn: (left: L, right: R, window: Window, params: P) => O | undefined): Stream<O, P> } {
    checkAssigner(assigner, "join(...).window(assigner)");
    return {
      apply: <O>(fn: (left: L, right: R, window: Window, params: P) => O | undefined): Stream<O, P> => {
        needFunction(fn, "join(...).window(...).apply(fn): fn");
        const node = addOperator(this.#job, "window_join", "windowJoin", () => ({ config: { assigner }, functions: { apply: fn } }), this.#inputs);
        return new Stream<O, P>(this.#job, node);
      },
    };
  }
}

/** An interval join waiting for its function (made by {@link KeyedStream.intervalJoin}). */
export class IntervalJoin<L, R, P extends JobParams = Record<string, unknown>> {
  readonly #job: Job<P>;
  readonly #inputs: Upstream[];
  readonly #bounds: { lower: number; upper: number };

  /** @internal */
  constructor(job: Job<P>, inputs: Upstream[], bounds: { lower: number; upper: number }) {
    this.#job = job;
    this.#inputs = inputs;
    this.#bounds = bounds;
  }

  /** `fn(left, right, params)` per matching pair; `undefined` emits nothing. */
  apply<O>(fn: (left: L, right: R, params: P) => O | undefined): Stream<O, P> {
    needFunction(fn, "intervalJoin(...).apply(fn): fn");
    const node = addOperator(this.#job, "interval_join", "intervalJoin", () => ({ config: { ...this.#bounds }, functions: { apply: fn } }), this.#inputs);
    return new Stream<O, P>(this.#job, node);
  }
}
