/** The retry budget of the connectors (Kafka, Redis, MySQL). */
import { toMillis, type Duration } from "./duration.js";

/**
 * How long a connector keeps retrying an endpoint it cannot reach (or that keeps failing
 * transiently) before its task fails with the endpoint and the last error; the job then
 * restarts or fails as its `restart` option says. The budget counts one run of failures, from
 * the first failure until an attempt gets through; whichever limit comes first ends it.
 * Between attempts the connector waits 100 ms, doubling up to 5 s.
 */
export interface RetryOptions {
  /** Retries allowed after the first failure (default: no limit of its own). */
  readonly attempts?: number;
  /**
   * How long the failures may go on (default 60 s; `0` is no time limit — with `attempts`
   * unset too, the connector retries until the job is cancelled).
   */
  readonly timeout?: Duration;
}

/** The config fields (`retryAttempts`, `retryTimeoutMs`) of `retry`; throws naming `what`. */
export function retryConfig(retry: unknown, what: string): Record<string, number> {
  if (retry === undefined) return {};
  if (typeof retry !== "object" || retry === null || Array.isArray(retry)) {
    throw new Error(`${what}: retry must be an object { attempts?, timeout? }, got ${JSON.stringify(retry)}`);
  }
  const { attempts, timeout, ...rest } = retry as RetryOptions & Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) {
    throw new Error(`${what}: retry has unknown option(s) ${unknown.join(", ")} (accepted: attempts, timeout)`);
  }
  const config: Record<string, number> = {};
  if (attempts !== undefined) {
    if (typeof attempts !== "number" || !Number.isSafeInteger(attempts) || attempts < 0 || attempts > 1e9) {
      throw new Error(`${what}: retry.attempts must be an integer from 0 to 1000000000, got ${JSON.stringify(attempts)}`);
    }
    config.retryAttempts = attempts;
  }
  if (timeout !== undefined) config.retryTimeoutMs = toMillis(timeout, `${what}: retry.timeout`);
  return config;
}
