#!/usr/bin/env bash
# The keyed-exchange benchmark: starts `sluice cluster --workers 2 --slots 1` (so the sending and
# the receiving task run in different worker processes), runs bench/nexmark/exchange.ts
# (Nexmark bids through one hash exchange) and prints events/s and events/s per core (two tasks,
# one thread each). Usage: bench/run-exchange.sh [events]   (default 5000000; 3 runs, median)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sluice="${SLUICE_BIN:-$root/build/cli/sluice}"
events="${1:-5000000}"
runs="${EXCHANGE_RUNS:-3}"
log="$(mktemp)"
"$sluice" cluster --workers 2 --slots 1 --listen 127.0.0.1:0 >"$log" 2>&1 &
cluster_pid=$!
trap 'kill -TERM $cluster_pid 2>/dev/null; wait $cluster_pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do grep -q "cluster ready" "$log" && break; sleep 0.1; done
address="$(sed -n 's/^coordinator listening on //p' "$log" | head -1)"
[ -n "$address" ] || { echo "the cluster did not start:" >&2; cat "$log" >&2; exit 1; }

times=()
for run in $(seq "$runs"); do
  id="$("$sluice" submit "$root/bench/nexmark/exchange.ts" --param "events=$events" -c "$address")"
  while true; do
    status="$("$sluice" status "$id" -c "$address")"
    state="$(sed -n 's/^state: *//p' <<<"$status")"
    case "$state" in
      finished) break ;;
      failed|canceled) echo "run $run: job $id $state" >&2; echo "$status" >&2; exit 1 ;;
    esac
    sleep 0.1
  done
  ms="$(sed -n 's/^ran: *\([0-9]*\) ms/\1/p' <<<"$status")"
  workers="$(grep -oE 'worker-[0-9]+' <<<"$status" | sort -u | wc -l)"
  [ "$workers" -eq 2 ] || { echo "expected the two tasks on two workers:" >&2; echo "$status" >&2; exit 1; }
  echo "run $run: $events events in $ms ms" >&2
  times+=("$ms")
done
median="$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")"
rate=$(( events * 1000 / median ))
echo "| query | events | tasks | events/s | events/s/core |"
echo "|---|---|---|---|---|"
echo "| exchange | $events | 2 (2 processes) | $rate | $(( rate / 2 )) |"
