#!/usr/bin/env bash
# Nexmark q0/q1/q2 throughput on the embedded cluster (`sluice run`).
#
#   bench/run-nexmark.sh                  # 20M events, parallelism 1 and 2, 3 runs each
#   NEXMARK_EVENTS=5000000 bench/run-nexmark.sh
#   NEXMARK_PARALLELISM="1" NEXMARK_RUNS=5 NEXMARK_QUERIES="q1" bench/run-nexmark.sh
#
# For every (query, parallelism) it runs the job NEXMARK_RUNS times, takes the median of the
# job's own wall time (the "finished in <ms> ms" line on stderr, which excludes compiling the
# job file and starting the process) and prints a markdown table on stdout:
#   events/s      = records in / (median ms / 1000)
#   events/s/core = events/s / parallelism (each task is one thread)
# Progress goes to stderr. Exits non-zero if any run fails or prints no job line.
# SLUICE_BIN overrides the binary (default <repo>/build/cli/sluice).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
sluice="${SLUICE_BIN:-$repo/build/cli/sluice}"
events="${NEXMARK_EVENTS:-20000000}"
parallelisms="${NEXMARK_PARALLELISM:-1 2}"
runs="${NEXMARK_RUNS:-3}"
queries="${NEXMARK_QUERIES:-q0 q1 q2}"

if [[ ! -x "$sluice" ]]; then
  echo "run-nexmark: no sluice binary at $sluice (build it: ninja -C $repo/build sluice)" >&2
  exit 1
fi
[[ "$events" =~ ^[1-9][0-9]*$ ]] || { echo "run-nexmark: NEXMARK_EVENTS must be a positive integer" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "run-nexmark: NEXMARK_RUNS must be a positive integer" >&2; exit 1; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

rows=()
for q in $queries; do
  job="$here/nexmark/$q.ts"
  [[ -f "$job" ]] || { echo "run-nexmark: no job file $job" >&2; exit 1; }
  for p in $parallelisms; do
    times=()
    recs=""
    for ((i = 1; i <= runs; i++)); do
      if ! "$sluice" run "$job" --parallelism "$p" --param "events=$events" >/dev/null 2>"$log"; then
        echo "run-nexmark: $q parallelism $p run $i failed:" >&2
        tail -n 5 "$log" >&2
        exit 1
      fi
      line="$(grep -E '^job .* finished in [0-9]+ ms: [0-9]+ records in, [0-9]+ out' "$log" | tail -n 1 || true)"
      if [[ -z "$line" ]]; then
        echo "run-nexmark: $q parallelism $p run $i printed no 'finished in' line:" >&2
        tail -n 5 "$log" >&2
        exit 1
      fi
      ms="$(sed -E 's/.* finished in ([0-9]+) ms:.*/\1/' <<<"$line")"
      in="$(sed -E 's/.*: ([0-9]+) records in,.*/\1/' <<<"$line")"
      out="$(sed -E 's/.* records in, ([0-9]+) out.*/\1/' <<<"$line")"
      if [[ "$in" != "$events" ]]; then
        echo "run-nexmark: $q parallelism $p run $i: $in records in, expected $events" >&2
        exit 1
      fi
      echo "run-nexmark: $q p=$p run $i: $ms ms, $in in, $out out" >&2
      times+=("$ms")
      recs="$in"
    done
    median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}')"
    rows+=("$(awk -v q="$q" -v n="$recs" -v p="$p" -v ms="$median" 'BEGIN {
      if (ms <= 0) ms = 1;
      eps = n / (ms / 1000.0);
      printf "| %s | %d | %d | %.0f | %.0f |", q, n, p, eps, eps / p }')")
  done
done

echo "| query | events | parallelism | events/s | events/s/core |"
echo "|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
