#!/usr/bin/env bash
# The keyed-exchange benchmark: starts `sluice cluster --workers 2 --slots 1` (so the sending and
# the receiving task run in different worker processes), runs a job of bench/nexmark/ (Nexmark
# bids through one hash exchange) and prints a markdown row (| exchange | events/s/core | ...):
#   events/s           = events / the job's wall time (median of the runs)
#   events/s/core      = events/s / 2 (two tasks, one thread each, whether busy or not)
#   events/CPU-second  = events / the CPU time (user + system) that the cluster's processes (the
#                        coordinator and both workers: task threads, gRPC, V8's GC threads) used
#                        while the job ran (median of the runs): the cost per core
#
# Usage: bench/run-exchange.sh [events]   (default 5000000)
#   EXCHANGE_JOB=exchange-pass   bench/nexmark/exchange-pass.ts: a stateless keyed pass-through
#                                (q0-shaped records after one hash exchange; the default)
#   EXCHANGE_JOB=exchange        bench/nexmark/exchange.ts: a keyed running reduce per auction
#                                (keyed state on the receiving side)
#   EXCHANGE_RUNS=3              runs (median)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sluice="${SLUICE_BIN:-$root/build/cli/sluice}"
events="${1:-5000000}"
runs="${EXCHANGE_RUNS:-3}"
job="${EXCHANGE_JOB:-exchange-pass}"
job_file="$root/bench/nexmark/$job.ts"
[[ -f "$job_file" ]] || { echo "run-exchange: no job file $job_file" >&2; exit 1; }
log="$(mktemp)"
"$sluice" cluster --workers 2 --slots 1 --listen 127.0.0.1:0 >"$log" 2>&1 &
cluster_pid=$!
trap 'kill -TERM $cluster_pid 2>/dev/null; wait $cluster_pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "cluster ready" "$log" && break; sleep 0.1; done
address="$(sed -n 's/^coordinator listening on //p' "$log" | head -1)"
[ -n "$address" ] || { echo "the cluster did not start:" >&2; cat "$log" >&2; exit 1; }
pids="$cluster_pid $(sed -n 's/^worker [0-9]* pid //p' "$log" | tr '\n' ' ')"

# CPU clock ticks (user + system) the cluster's processes used so far.
ticks() {
  local total=0 fields
  for pid in $pids; do
    fields=($(sed 's/^.*) //' "/proc/$pid/stat"))
    total=$((total + fields[11] + fields[12]))
  done
  echo "$total"
}
hz="$(getconf CLK_TCK)"

times=()
cpus=()
for run in $(seq "$runs"); do
  before="$(ticks)"
  id="$("$sluice" submit "$job_file" --param "events=$events" -c "$address")"
  while true; do
    status="$("$sluice" status "$id" -c "$address")"
    state="$(sed -n 's/^state: *//p' <<<"$status")"
    case "$state" in
      finished) break ;;
      failed|canceled) echo "run $run: job $id $state" >&2; echo "$status" >&2; exit 1 ;;
    esac
    sleep 0.05
  done
  cpu_ms=$(( ($(ticks) - before) * 1000 / hz ))
  ms="$(sed -n 's/^ran: *\([0-9]*\) ms/\1/p' <<<"$status")"
  workers="$(grep -oE 'worker-[0-9]+' <<<"$status" | sort -u | wc -l)"
  [ "$workers" -eq 2 ] || { echo "expected the two tasks on two workers:" >&2; echo "$status" >&2; exit 1; }
  echo "run $run: $events events in $ms ms, $cpu_ms ms of CPU" >&2
  times+=("$ms")
  cpus+=("$cpu_ms")
done
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
ms="$(median "${times[@]}")"
cpu_ms="$(median "${cpus[@]}")"
rate=$(( events * 1000 / ms ))
echo "| query | events/s/core | events/CPU-second | events/s | events | tasks | receiving job |"
echo "|---|---|---|---|---|---|---|"
echo "| exchange | $(( rate / 2 )) | $(( events * 1000 / cpu_ms )) | $rate | $events | 2 (2 processes) | $job |"
