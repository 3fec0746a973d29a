/**
 * A length of time: a number of milliseconds, or a string made of a non-negative number and a
 * unit: `"500ms"`, `"10s"`, `"5m"`, `"1h"` (also `"1.5s"`).
 */
export type Duration = number | `${number}${DurationUnit}`;

/** The units a {@link Duration} string may use. */
export type DurationUnit = "ms" | "s" | "m" | "h";

const UNIT_MS: Record<DurationUnit, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Converts a {@link Duration} to whole milliseconds.
 *
 * @param value - the duration
 * @param what - what the duration is for, used in the error message (e.g. `"checkpointInterval"`)
 * @throws Error when the value is negative, not finite, or a string in another format
 */
export function toMillis(value: Duration, what: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`${what}: ${value} is not a valid duration (expected milliseconds >= 0)`);
    }
    return Math.round(value);
  }
  if (typeof value === "string") {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
    if (m !== null) {
      return Math.round(Number(m[1]) * UNIT_MS[m[2] as DurationUnit]);
    }
  }
  throw new Error(
    `${what}: ${JSON.stringify(value)} is not a valid duration ` +
      `(use milliseconds as a number, or a string like "500ms", "10s", "5m", "1h")`,
  );
}
