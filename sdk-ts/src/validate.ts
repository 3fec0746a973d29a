/** Argument checks shared by the builders; each throws an Error that names the argument. */

/** A non-negative integer (counts, epoch times). */
export function checkCount(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`${what} must be an integer >= 0, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A positive integer (parallelism, memory sizes). */
export function checkPositiveInt(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new Error(`${what} must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** A positive finite number (rates). */
export function checkRate(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new Error(`${what} must be a number > 0, got ${JSON.stringify(value)}`);
  }
  return value;
}
