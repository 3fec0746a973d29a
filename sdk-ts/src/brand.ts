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
