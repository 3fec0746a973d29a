#!/usr/bin/env bash
# Threads and memory per worker for a keyed job at a given parallelism: starts
# `sluice cluster --workers W --slots P`, submits bench/scale/keyed.ts (generator -> keyBy ->
# reduce -> discard) with `-p P`, samples every worker's /proc/<pid>/status (Threads, VmRSS)
# every 0.2 s while the job runs and prints a markdown row with the peaks (the larger of the
# workers). Every generator subtask has a channel to every reduce subtask: P*P channels, about
# P*P*(W-1)/W of them between worker processes.
#
# Usage: bench/run-scale.sh [parallelism] [workers] [events]   (default 32 2 2000000)
#   SLUICE_BIN=/path/to/sluice   the binary to measure (default build/cli/sluice)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sluice="${SLUICE_BIN:-$root/build/cli/sluice}"
parallelism="${1:-32}"
workers="${2:-2}"
events="${3:-2000000}"
log="$(mktemp)"
"$sluice" cluster --workers "$workers" --slots "$parallelism" --listen 127.0.0.1:0 >"$log" 2>&1 &
cluster_pid=$!
trap 'kill -TERM $cluster_pid 2>/dev/null; wait $cluster_pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "cluster ready" "$log" && break; sleep 0.1; done
address="$(sed -n 's/^coordinator listening on //p' "$log" | head -1)"
[ -n "$address" ] || { echo "the cluster did not start:" >&2; cat "$log" >&2; exit 1; }
worker_pids="$(sed -n 's/^worker [0-9]* pid //p' "$log" | tr '\n' ' ')"

field() { sed -n "s/^$1:[[:space:]]*\([0-9]*\).*/\1/p" "/proc/$2/status"; }
idle_threads=0
for pid in $worker_pids; do t="$(field Threads "$pid")"; (( t > idle_threads )) && idle_threads=$t; done

start_ms=$(date +%s%3N)
id="$("$sluice" submit "$root/bench/scale/keyed.ts" -p "$parallelism" --param "events=$events" -c "$address")"
threads=0
rss_kb=0
while true; do
  for pid in $worker_pids; do
    t="$(field Threads "$pid")"; r="$(field VmRSS "$pid")"
    (( t > threads )) && threads=$t
    (( r > rss_kb )) && rss_kb=$r
  done
  status="$("$sluice" status "$id" -c "$address")"
  state="$(sed -n 's/^state: *//p' <<<"$status")"
  case "$state" in
    finished) break ;;
    failed|canceled) echo "job $id $state" >&2; echo "$status" >&2; exit 1 ;;
  esac
  sleep 0.2
done
ms=$(( $(date +%s%3N) - start_ms ))
echo "| $parallelism | $workers | $threads | $(( rss_kb / 1024 )) | $idle_threads | $ms | $events |"
