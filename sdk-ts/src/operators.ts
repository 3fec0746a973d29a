/**
 * What sources and sinks are made of: a descriptor the job turns into an operator of the
 * JobSpec when it is built.
 */

declare const RecordType: unique symbol;

/** The configuration and user functions of one operator, as they go into the JobSpec. */
export interface OperatorParts {
  /** The kind's configuration (see proto/README.md); becomes `configJson`. */
  readonly config: Readonly<Record<string, unknown>>;
  /** User functions by role ("fn", ...); each is shipped as source text. */
  readonly functions: Readonly<Record<string, unknown>>;
}

/** Describes a source or sink before it belongs to a job. Made by `sources.*` and `sinks.*`. */
export interface OperatorDescriptor {
  /** The operator kind, e.g. `"source.file"` or `"sink.stdout"`. */
  readonly kind: string;
  /** The stem of the operator's default name, e.g. `"source.file"`. */
  readonly label: string;
  /** Builds the config and functions; called by `Job.toSpec()` (so relative paths resolve then). */
  build(): OperatorParts;
}

/**
 * A source of records of type `T`: pass it to {@link Job.source}. Made by the functions in
 * `sources`.
 */
export interface Source<T> extends OperatorDescriptor {
  readonly kind: `source.${string}`;
  /** Type-only marker carrying the record type; never set at run time. */
  readonly [RecordType]?: T;
}

declare const SinkInput: unique symbol;

/**
 * Where a stream's records go: pass it to {@link Stream.sink}. Made by the functions in `sinks`.
 *
 * @typeParam T - the records the sink takes (`unknown`: any); a sink with a function (Redis,
 *   MySQL) takes the record type its function was written for
 * @typeParam P - the params its function expects
 */
export interface Sink<T = unknown, P = unknown> extends OperatorDescriptor {
  readonly kind: `sink.${string}`;
  /** True for sinks whose records come back to the caller (`sinks.collect()`). */
  readonly collects: boolean;
  /** Type-only marker carrying the record and params types; never set at run time. */
  readonly [SinkInput]?: (record: T, params: P) => void;
}
