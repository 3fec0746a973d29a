#!/usr/bin/env bash
# Events per CPU-second at parallelism 2 over parallelism 1 for Nexmark queries: over whole runs
# of two lengths, and in the steady state, the cost of the events the longer run adds
#
#   bench/run-scaling.sh                                   # q0 q5 q7 q11, 5M and 20M events, 4 rounds
#   SCALING_EVENTS="2000000 10000000" SCALING_ROUNDS=3 NEXMARK_QUERIES="q7" bench/run-scaling.sh
#
# Each round runs four whole processes one after the other, `sluice run bench/nexmark/<q>.ts`
# at p=2 and p=1 over SHORT events and again over LONG events (the parallelism that goes first
# alternates from round to round), and takes each one's CPU time (user + system, GNU time).
# Events per CPU-second p=2 / p=1 is CPU(p=1) / CPU(p=2). Per round:
#   whole run   CPU(p=1, n) / CPU(p=2, n), for n = SHORT and n = LONG
#   steady      (CPU(p=1, LONG) - CPU(p=1, SHORT)) / (CPU(p=2, LONG) - CPU(p=2, SHORT)): the
#               events the long run adds, once every isolate has started and compiled its code
#               (Flink's Nexmark likewise measures after a delay, 10 s by default)
#   fixed       CPU(p, SHORT) - SHORT x (the steady CPU per event at p): what a run costs at p
#               whatever its length (start-up, and each isolate's warm-up and compiling)
# and prints, per query, each figure's median (min-max) over the rounds as a markdown table. A
# round whose long run did not cost more than its short one at some parallelism has no steady
# or fixed figure ("n/a" when no round has). Progress goes to stderr. Exits non-zero, naming
# the run, if a run fails.
# Variables: SCALING_EVENTS ("SHORT LONG", default "5000000 20000000"), SCALING_ROUNDS (default
# 4), NEXMARK_QUERIES (default "q0 q5 q7 q11"), SLUICE_BIN (default <repo>/build/cli/sluice).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
sluice="${SLUICE_BIN:-$repo/build/cli/sluice}"
read -r short long extra <<<"${SCALING_EVENTS:-5000000 20000000}"
rounds="${SCALING_ROUNDS:-4}"
queries="${NEXMARK_QUERIES:-q0 q5 q7 q11}"

fail() { echo "run-scaling: $*" >&2; exit 1; }
[[ -x "$sluice" ]] || fail "no sluice binary at $sluice (build it: ninja -C $repo/build sluice)"
[[ "$short" =~ ^[1-9][0-9]*$ && "$long" =~ ^[1-9][0-9]*$ && -z "${extra:-}" ]] ||
  fail "SCALING_EVENTS must be two positive integers, SHORT LONG, not \"${SCALING_EVENTS:-}\""
((short < long)) || fail "SCALING_EVENTS: SHORT ($short) must be less than LONG ($long)"
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || fail "SCALING_ROUNDS must be a positive integer, not \"$rounds\""
for q in $queries; do [[ -f "$here/nexmark/$q.ts" ]] || fail "no job file $here/nexmark/$q.ts"; done

log="$(mktemp)"
cpu_log="$(mktemp)"
trap 'rm -f "$log" "$cpu_log"' EXIT

# The CPU seconds (user + system) of one `sluice run`: cpu_of <query> <parallelism> <events>.
cpu_of() {
  if ! /usr/bin/time -o "$cpu_log" -f "%U %S" \
      "$sluice" run "$here/nexmark/$1.ts" --parallelism "$2" --param "events=$3" >/dev/null 2>"$log"; then
    echo "run-scaling: $1 at parallelism $2 over $3 events failed:" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
  awk '{print $1 + $2}' "$cpu_log"
}

# "median (min-max)" of the numbers on stdin with printf format $1, or n/a when there are none.
spread() {
  sort -g | awk -v f="$1" '{a[NR] = $1} END {
    if (NR == 0) { print "n/a"; exit }
    m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
    printf f " (" f "-" f ")\n", m, a[1], a[NR] }'
}

# figures FORMAT spread|median NUMBERS...: spread's "median (min-max)", or the median alone, of
# the non-empty arguments (an empty array expands to one empty word).
figures() {
  local format="$1" what="$2"
  shift 2
  local text
  text="$(printf '%s\n' "$@" | sed '/^$/d' | spread "$format")"
  [[ "$what" == median ]] && text="${text%% (*}"
  echo "$text"
}

echo "| query | CPU s p=1 / p=2, $short events | CPU s p=1 / p=2, $long events | events/CPU-s p=2 / p=1, $short | same, $long | same, steady | fixed CPU s p=1 / p=2 |"
echo "|---|---|---|---|---|---|---|"
for q in $queries; do
  s1=() s2=() l1=() l2=() whole_s=() whole_l=() steady=() fixed1=() fixed2=()
  for ((r = 1; r <= rounds; r++)); do
    order="2 1"
    ((r % 2 == 0)) && order="1 2"
    declare -A cpu=()
    for n in "$short" "$long"; do
      for p in $order; do cpu[$p,$n]="$(cpu_of "$q" "$p" "$n")"; done
    done
    s1+=("${cpu[1,$short]}") s2+=("${cpu[2,$short]}") l1+=("${cpu[1,$long]}") l2+=("${cpu[2,$long]}")
    read -r ws wl st f1 f2 < <(awk -v s1="${cpu[1,$short]}" -v s2="${cpu[2,$short]}" \
        -v l1="${cpu[1,$long]}" -v l2="${cpu[2,$long]}" -v ns="$short" -v nl="$long" 'BEGIN {
      ws = s2 > 0 ? s1 / s2 : "-"; wl = l2 > 0 ? l1 / l2 : "-"
      st = "-"; f1 = "-"; f2 = "-"
      if (l1 > s1 && l2 > s2) {
        st = (l1 - s1) / (l2 - s2)
        f1 = s1 - ns * (l1 - s1) / (nl - ns); f2 = s2 - ns * (l2 - s2) / (nl - ns)
      }
      print ws, wl, st, f1, f2 }')
    [[ "$ws" != - ]] && whole_s+=("$ws")
    [[ "$wl" != - ]] && whole_l+=("$wl")
    [[ "$st" != - ]] && steady+=("$st") fixed1+=("$f1") fixed2+=("$f2")
    echo "run-scaling: $q round $r: CPU s p=1/p=2 ${cpu[1,$short]}/${cpu[2,$short]} over $short," \
      "${cpu[1,$long]}/${cpu[2,$long]} over $long" >&2
    unset cpu
  done
  row="| $q | $(figures %.2f median "${s1[@]}") / $(figures %.2f median "${s2[@]}")"
  row+=" | $(figures %.2f median "${l1[@]}") / $(figures %.2f median "${l2[@]}")"
  row+=" | $(figures %.2f spread "${whole_s[@]}") | $(figures %.2f spread "${whole_l[@]}")"
  row+=" | $(figures %.2f spread "${steady[@]}")"
  row+=" | $(figures %.2f median "${fixed1[@]}") / $(figures %.2f median "${fixed2[@]}") |"
  echo "$row"
done
