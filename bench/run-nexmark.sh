#!/usr/bin/env bash
# Nexmark throughput on the embedded cluster (`sluice run`), or (NEXMARK_BASELINE=1, below) its
# CPU time against the hand-written programs of bench/baseline/
#
#   bench/run-nexmark.sh                  # 20M events, parallelism 1 and 2, 3 runs each
#   NEXMARK_EVENTS=5000000 bench/run-nexmark.sh
#   NEXMARK_PARALLELISM="1" NEXMARK_RUNS=5 NEXMARK_QUERIES="q1" bench/run-nexmark.sh
#
# For every (query, parallelism) it runs the job NEXMARK_RUNS times, takes the median of the
# job's own wall time (the "finished in <ms> ms" line on stderr, which excludes compiling the
# job file and starting the process) and of the process's CPU time (user + system, GNU time),
# and prints a markdown table on stdout:
#   events/s          = events / (median ms / 1000)
#   events/s/core     = events/s / parallelism (each task is one thread)
#   events/CPU-second = events / median CPU seconds of the whole process (every task thread,
#                       the exchange, compiling the job file): the per-core cost, whatever the
#                       number of threads a query's tasks use
# Progress goes to stderr. Exits non-zero if any run fails or prints no job line.
# SLUICE_BIN overrides the binary (default <repo>/build/cli/sluice).
#
# NEXMARK_BASELINE=1 compares with the hand-written programs of bench/baseline/ instead: per
# query and run, `sluice run` at parallelism 1 and `node bench/baseline/<query>.mjs <events>`
# one after the other (A B A B ...), and prints the CPU time (user + system) of each whole
# process and the ratio sluice / baseline, pair by pair: median (min-max). With SLUICE_BIN_OLD
# set, a third process per run, that binary, alternating with the others, and its ratio too.
#   NEXMARK_BASELINE=1 NEXMARK_EVENTS=5000000 NEXMARK_QUERIES="q5 q7 q11" bench/run-nexmark.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
sluice="${SLUICE_BIN:-$repo/build/cli/sluice}"
events="${NEXMARK_EVENTS:-20000000}"
parallelisms="${NEXMARK_PARALLELISM:-1 2}"
runs="${NEXMARK_RUNS:-3}"
queries="${NEXMARK_QUERIES:-q0 q1 q2}"
timer=/usr/bin/time

if [[ ! -x "$sluice" ]]; then
  echo "run-nexmark: no sluice binary at $sluice (build it: ninja -C $repo/build sluice)" >&2
  exit 1
fi
[[ "$events" =~ ^[1-9][0-9]*$ ]] || { echo "run-nexmark: NEXMARK_EVENTS must be a positive integer" >&2; exit 1; }
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "run-nexmark: NEXMARK_RUNS must be a positive integer" >&2; exit 1; }

log="$(mktemp)"
cpu_log="$(mktemp)"
trap 'rm -f "$log" "$cpu_log"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
# "median (min-max)" of numbers on stdin, with printf format $1.
spread() { sort -n | awk -v f="$1" '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2;
  printf f " (" f "-" f ")", m, a[1], a[NR]}'; }

# The CPU seconds (user + system) of one whole process: cpu_of <what> <command...>; its output
# goes to $log. Exits the script when the command fails.
cpu_of() {
  local what="$1"
  shift
  if ! "$timer" -o "$cpu_log" -f "%U %S" "$@" >"$log" 2>&1; then
    echo "run-nexmark: $what failed:" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
  awk '{print $1 + $2}' "$cpu_log"
}

if [[ "${NEXMARK_BASELINE:-}" == 1 ]]; then
  old="${SLUICE_BIN_OLD:-}"
  [[ -z "$old" || -x "$old" ]] || { echo "run-nexmark: SLUICE_BIN_OLD $old is not executable" >&2; exit 1; }
  if [[ -n "$old" ]]; then
    echo "| query | events | sluice CPU s | old sluice CPU s | baseline CPU s | sluice / baseline | old / baseline | new / old |"
    echo "|---|---|---|---|---|---|---|---|"
  else
    echo "| query | events | sluice CPU s | baseline CPU s | sluice / baseline |"
    echo "|---|---|---|---|---|"
  fi
  for q in $queries; do
    job="$here/nexmark/$q.ts"
    base="$here/baseline/$q.mjs"
    [[ -f "$job" && -f "$base" ]] || { echo "run-nexmark: no $job or $base" >&2; exit 1; }
    new_cpu=() old_cpu=() base_cpu=() ratio=() old_ratio=() new_old=()
    for ((i = 1; i <= runs; i++)); do
      n="$(cpu_of "$q sluice run $i" "$sluice" run "$job" --param "events=$events")"
      b="$(cpu_of "$q baseline run $i" node "$base" "$events")"
      new_cpu+=("$n") base_cpu+=("$b") ratio+=("$(awk -v a="$n" -v b="$b" 'BEGIN {print a / b}')")
      line="run-nexmark: $q run $i: sluice ${n}s, baseline ${b}s"
      if [[ -n "$old" ]]; then
        o="$(cpu_of "$q old sluice run $i" "$old" run "$job" --param "events=$events")"
        old_cpu+=("$o")
        old_ratio+=("$(awk -v a="$o" -v b="$b" 'BEGIN {print a / b}')")
        new_old+=("$(awk -v a="$n" -v b="$o" 'BEGIN {print a / b}')")
        line+=", old sluice ${o}s"
      fi
      echo "$line" >&2
    done
    row="| $q | $events | $(printf '%s\n' "${new_cpu[@]}" | spread %.2f)"
    [[ -n "$old" ]] && row+=" | $(printf '%s\n' "${old_cpu[@]}" | spread %.2f)"
    row+=" | $(printf '%s\n' "${base_cpu[@]}" | spread %.2f) | $(printf '%s\n' "${ratio[@]}" | spread %.2f)"
    if [[ -n "$old" ]]; then
      row+=" | $(printf '%s\n' "${old_ratio[@]}" | spread %.2f) | $(printf '%s\n' "${new_old[@]}" | spread %.2f)"
    fi
    echo "$row |"
  done
  exit 0
fi

rows=()
for q in $queries; do
  job="$here/nexmark/$q.ts"
  [[ -f "$job" ]] || { echo "run-nexmark: no job file $job" >&2; exit 1; }
  for p in $parallelisms; do
    times=()
    cpus=()
    recs=""
    for ((i = 1; i <= runs; i++)); do
      if ! "$timer" -o "$cpu_log" -f "%U %S" "$sluice" run "$job" --parallelism "$p" --param "events=$events" >/dev/null 2>"$log"; then
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
      # Records in counts every task's input: the events, plus what crosses the exchange.
      if (( in < events )); then
        echo "run-nexmark: $q parallelism $p run $i: $in records in, expected at least $events" >&2
        exit 1
      fi
      cpus+=("$(awk '{print $1 + $2}' "$cpu_log")")
      echo "run-nexmark: $q p=$p run $i: $ms ms, $in in, $out out" >&2
      times+=("$ms")
      recs="$events"
    done
    median="$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}')"
    cpu="$(printf '%s\n' "${cpus[@]}" | sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}')"
    rows+=("$(awk -v q="$q" -v n="$recs" -v p="$p" -v ms="$median" -v cpu="$cpu" 'BEGIN {
      if (ms <= 0) ms = 1;
      if (cpu <= 0) cpu = 0.01;
      eps = n / (ms / 1000.0);
      printf "| %s | %d | %d | %.0f | %.0f | %.0f |", q, n, p, eps, eps / p, n / cpu }')")
  done
done

echo "| query | events | parallelism | events/s | events/s/core | events/CPU-second |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
