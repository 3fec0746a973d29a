/**
 * Window assigners for {@link KeyedStream.window} and window joins: `windows.tumbling`,
 * `windows.sliding`, `windows.session`. Windows are `[start, end)` in epoch milliseconds,
 * aligned to the epoch (plus `offset`).
 */
import { toMillis, type Duration } from "./duration.js";

/** How records are grouped into windows; made by the functions of `windows`. */
export type WindowAssigner =
  | { readonly type: "tumbling"; readonly size: number; readonly offset?: number }
  | { readonly type: "sliding"; readonly size: number; readonly slide: number; readonly offset?: number }
  | { readonly type: "session"; readonly gap: number };

/** A window as results show it: `[start, end)` in epoch milliseconds. */
export interface Window {
  readonly start: number;
  readonly end: number;
}

/** What a windowed reduce, aggregate or count emits per key and window. */
export interface WindowResult<K, V> {
  readonly key: K;
  readonly window: Window;
  readonly value: V;
}

function positive(value: Duration, what: string): number {
  const ms = toMillis(value, what);
  if (ms <= 0) throw new Error(`${what}: must be longer than 0 ms`);
  return ms;
}

/** Fixed-size windows that do not overlap: each record is in exactly one. */
export function tumbling(size: Duration, options: { offset?: Duration } = {}): WindowAssigner {
  const ms = positive(size, "windows.tumbling: size");
  if (options.offset === undefined) return { type: "tumbling", size: ms };
  return { type: "tumbling", size: ms, offset: toMillis(options.offset, "windows.tumbling: offset") };
}

/** Windows of `size` starting every `slide`: each record is in size / slide of them. */
export function sliding(size: Duration, slide: Duration, options: { offset?: Duration } = {}): WindowAssigner {
  const sizeMs = positive(size, "windows.sliding: size");
  const slideMs = positive(slide, "windows.sliding: slide");
  if (slideMs > sizeMs) throw new Error(`windows.sliding: the slide (${slideMs} ms) is longer than the size (${sizeMs} ms)`);
  const assigner = { type: "sliding" as const, size: sizeMs, slide: slideMs };
  if (options.offset === undefined) return assigner;
  return { ...assigner, offset: toMillis(options.offset, "windows.sliding: offset") };
}

/** Per key, a window that lasts while records keep coming less than `gap` apart. */
export function session(gap: Duration): WindowAssigner {
  return { type: "session", gap: positive(gap, "windows.session: gap") };
}
