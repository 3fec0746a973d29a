/**
 * Cross-copy markers. A job file may import its own installed copy of the SDK while the
 * compiler (`compile-job`) comes from another; registered symbols are shared by both.
 */

/** Set (non-enumerable, value 1) on every Job. */
export const JOB_BRAND: unique symbol = Symbol.for("sluice.job") as never;

/** Set to true on globalThis while `compile-job` loads a job file. */
export const COMPILING: unique symbol = Symbol.for("sluice.compiling") as never;

/** True while a job file is being compiled; run() and submit() refuse then. */
export function isCompiling(): boolean {
  return (globalThis as Record<symbol, unknown>)[COMPILING] === true;
}

/**
 * Set on globalThis by `compile-job` to the `--param k=v` overrides while it loads a job file,
 * so that a Job built then sees them in `job.params` at build time too.
 */
export const PARAM_OVERRIDES: unique symbol = Symbol.for("sluice.paramOverrides") as never;

/** The `--param` overrides of the compile in progress, or an empty object. */
export function paramOverrides(): Record<string, unknown> {
  const value = (globalThis as Record<symbol, unknown>)[PARAM_OVERRIDES];
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Set on globalThis by `compile-job` to the `--param k=v` overrides as the texts given, so that
 * a Job can read each one as the type of its default (params.ts) and refuse unknown keys.
 */
export const PARAM_TEXTS: unique symbol = Symbol.for("sluice.paramTexts") as never;

/** The `--param` texts of the compile in progress, or undefined outside one. */
export function paramTexts(): Record<string, string> | undefined {
  const value = (globalThis as Record<symbol, unknown>)[PARAM_TEXTS];
  return typeof value === "object" && value !== null ? (value as Record<string, string>) : undefined;
}

/**
 * Set on globalThis by `compile-job` while it loads a job file and builds its spec: what
 * `prepareFunction` found for each function text at earlier compiles of the same bundle, so
 * that a repeated compile does not load and run the parser. `code` names the files whose code
 * decides the outcome (functions.ts, globals.ts, the parser); the compiler keys its records by
 * their content, so a record is used only with exactly the code that made it.
 */
export const FUNCTION_MEMO: unique symbol = Symbol.for("sluice.functionMemo") as never;

/** The outcome of analysing one function text, as kept in the memo. */
export interface MemoResult {
  readonly source: string;
  readonly problems: readonly string[];
}

/** The compiler's memo (see FUNCTION_MEMO). */
export interface FunctionMemo {
  get(code: readonly string[], text: string): MemoResult | undefined;
  set(code: readonly string[], text: string, result: MemoResult): void;
}

/** The memo of the compile in progress, or undefined. */
export function functionMemo(): FunctionMemo | undefined {
  const value = (globalThis as Record<symbol, unknown>)[FUNCTION_MEMO];
  return typeof value === "object" && value !== null ? (value as FunctionMemo) : undefined;
}
