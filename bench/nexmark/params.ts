/**
 * Build-time settings of the Nexmark jobs.
 *
 * `sluice run q1.ts --param events=N` sets `params.events` for the job's functions, but the
 * CLI applies `--param` to the spec *after* the job file has been loaded, so the source's
 * `events` (a build-time config value, not a param) would not see it. The job file's top
 * level runs in Node inside the job compiler (`compile-job.js <job> --param k=v ...`), so we
 * read the same `--param events=N` from its command line here and use it for both the
 * source and `params`. Only `events` is read this way.
 */
export const DEFAULT_EVENTS = 20_000_000;

export function eventsFromArgs(fallback: number = DEFAULT_EVENTS): number {
  const argv: readonly string[] = (globalThis as { process?: { argv?: string[] } }).process?.argv ?? [];
  let found: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    let kv: string | undefined;
    if (argv[i] === "--param") kv = argv[i + 1];
    else if (argv[i]!.startsWith("--param=")) kv = argv[i]!.slice("--param=".length);
    if (kv === undefined || !kv.startsWith("events=")) continue;
    const n = Number(kv.slice("events=".length));
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--param events must be an integer >= 1, got '${kv}'`);
    found = n; // the last one wins, as in the CLI
  }
  return found ?? fallback;
}
