#!/usr/bin/env bash
# Two commands timed as whole processes, alternately: A against B, pair by pair
#
#   bench/alternate.sh [-n PAIRS] [-w WARMUP] [-t SECONDS] [-v] -- COMMAND_A ... -- COMMAND_B ...
#   bench/alternate.sh -n 5 -- build/cli/sluice run bench/nexmark/q5.ts --param events=5000000 \
#     -- /tmp/old/sluice run bench/nexmark/q5.ts --param events=5000000
#
# Runs WARMUP (default 1) unrecorded runs of each, then PAIRS (default 5) pairs A B A B ...,
# each under GNU time (`/usr/bin/time -f "%U %S %e %M"`): CPU = user + system seconds of the whole
# finished process, children it waited for included (not one it left running); wall seconds;
# peak RSS. Prints a markdown table on stdout: CPU s, wall s and peak RSS of A and of B as
# median (min-max), and the ratios A / B of CPU and wall taken pair by pair, median (min-max) (a
# pair whose B took 0.00 s, below time's resolution, has no ratio). GNU time gives seconds to
# 0.01, so for commands of a tenth of a second or less run more pairs. Progress goes to stderr.
#   -t SECONDS  kill a run that takes longer (coreutils `timeout`); it counts as failed
#   -v          keep the commands' output (on stderr); otherwise stdout goes to /dev/null and
#               the last lines of stderr are shown only when a run fails
# COMMAND_A ends at the first `--` after it, so A cannot contain a bare `--`; B can.
# Exits non-zero, naming the command and its exit code, if any run fails.
set -euo pipefail

pairs=5 warmup=1 limit="" verbose=""
usage() { echo "usage: bench/alternate.sh [-n PAIRS] [-w WARMUP] [-t SECONDS] [-v] -- COMMAND_A ... -- COMMAND_B ..." >&2; exit 2; }
while getopts "n:w:t:v" opt; do
  case "$opt" in
    n) pairs="$OPTARG" ;;
    w) warmup="$OPTARG" ;;
    t) limit="$OPTARG" ;;
    v) verbose=1 ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[[ "$pairs" =~ ^[1-9][0-9]*$ ]] || { echo "alternate: -n must be a positive integer" >&2; exit 2; }
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "alternate: -w must be a non-negative integer" >&2; exit 2; }
[[ -z "$limit" || "$limit" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "alternate: -t must be a number of seconds" >&2; exit 2; }
# getopts consumed the first `--`; A runs to the next one, B is the rest.
a=()
while (($# > 0)) && [[ "$1" != "--" ]]; do a+=("$1"); shift; done
(($# > 0)) && shift
b=("$@")
((${#a[@]} > 0 && ${#b[@]} > 0)) || usage

timed="$(mktemp)"
log="$(mktemp)"
trap 'rm -f "$timed" "$log"' EXIT

# "median (min-max)" of numbers on stdin, with printf format $1; "n/a" if there are none.
spread() { sort -g | awk -v f="$1" '{a[NR]=$1} END {if (!NR) {printf "n/a"; exit}
  m = NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf f " (" f "-" f ")", m, a[1], a[NR]}'; }

# run <A|B> <what> <command...>: runs it under GNU time; sets cpu, wall and rss (MB). Exits the
# script when the command fails.
run() {
  local name="$1" what="$2" code=0
  shift 2
  local cmd=("$@")
  [[ -n "$limit" ]] && cmd=(timeout "$limit" "${cmd[@]}")
  if [[ -n "$verbose" ]]; then
    /usr/bin/time -o "$timed" -f "%U %S %e %M" "${cmd[@]}" >&2 || code=$?
  else
    /usr/bin/time -o "$timed" -f "%U %S %e %M" "${cmd[@]}" >/dev/null 2>"$log" || code=$?
  fi
  if ((code != 0)); then
    local note=""
    [[ $code == 124 && -n "$limit" ]] && note=", timed out after $limit s"
    echo "alternate: command $name failed with exit code $code ($what$note): $*" >&2
    [[ -z "$verbose" ]] && tail -n 5 "$log" >&2
    exit 1
  fi
  # time writes "Command exited with ..." lines before the format's line: take the last.
  read -r cpu wall rss < <(tail -n 1 "$timed" | awk '{printf "%.2f %.2f %.1f\n", $1 + $2, $3, $4 / 1024}')
}

for ((i = 1; i <= warmup; i++)); do
  run A "warm-up run $i" "${a[@]}"
  run B "warm-up run $i" "${b[@]}"
done
a_cpu=() a_wall=() a_rss=() b_cpu=() b_wall=() b_rss=() cpu_ratio=() wall_ratio=()
for ((i = 1; i <= pairs; i++)); do
  run A "pair $i" "${a[@]}"
  a_cpu+=("$cpu") a_wall+=("$wall") a_rss+=("$rss")
  run B "pair $i" "${b[@]}"
  b_cpu+=("$cpu") b_wall+=("$wall") b_rss+=("$rss")
  ratios="$(awk -v ac="${a_cpu[-1]}" -v bc="$cpu" -v aw="${a_wall[-1]}" -v bw="$wall" \
    'BEGIN {print (bc > 0 ? ac / bc : "-"), (bw > 0 ? aw / bw : "-")}')"
  read -r rc rw <<<"$ratios"
  [[ "$rc" != - ]] && cpu_ratio+=("$rc")
  [[ "$rw" != - ]] && wall_ratio+=("$rw")
  echo "alternate: pair $i: A ${a_cpu[-1]} s CPU, ${a_wall[-1]} s wall; B $cpu s CPU, $wall s wall" >&2
done

list() { (($# > 0)) && printf '%s\n' "$@"; true; }
echo "A: ${a[*]}"
echo "B: ${b[*]}"
echo "$pairs pairs, $warmup warm-up run(s) each; median (min-max)"
echo
echo "| | CPU s | wall s | peak RSS MiB |"
echo "|---|---|---|---|"
echo "| A | $(list "${a_cpu[@]}" | spread %.2f) | $(list "${a_wall[@]}" | spread %.2f) | $(list "${a_rss[@]}" | spread %.1f) |"
echo "| B | $(list "${b_cpu[@]}" | spread %.2f) | $(list "${b_wall[@]}" | spread %.2f) | $(list "${b_rss[@]}" | spread %.1f) |"
echo "| A / B | $(list "${cpu_ratio[@]}" | spread %.2f) | $(list "${wall_ratio[@]}" | spread %.2f) | |"
