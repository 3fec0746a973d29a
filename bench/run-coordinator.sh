#!/usr/bin/env bash
# The coordinator at scale: starts `sluice coordinator` (its records and checkpoints in a
# temporary folder) and runs build/bench/coordinator/coordinator_bench against it with simulated
# workers (no V8, no task runs): deploy, heartbeats carrying every task's status, and a savepoint
# acknowledged by every task, each with the coordinator's CPU time. Prints a markdown row.
#
# Usage: bench/run-coordinator.sh TASKS [chain|keyed] [workers]   (default chain, 10 workers)
#   SLUICE_BIN=/path/to/sluice   the coordinator binary (default build/cli/sluice)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sluice="${SLUICE_BIN:-$root/build/cli/sluice}"
bench="${COORDINATOR_BENCH:-$root/build/bench/coordinator/coordinator_bench}"
tasks="${1:?usage: bench/run-coordinator.sh TASKS [chain|keyed] [workers]}"
shape="${2:-chain}"
workers="${3:-10}"
dir="$(mktemp -d)"
log="$dir/coordinator.log"
SLUICE_LOG=warn "$sluice" coordinator --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --metrics-listen 127.0.0.1:0 --checkpoint-dir "$dir/checkpoints" --worker-timeout 60000 \
  >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do grep -q "coordinator listening on" "$log" && break; sleep 0.1; done
address="$(sed -n 's/^coordinator listening on //p' "$log" | head -1)"
[ -n "$address" ] || { echo "the coordinator did not start:" >&2; cat "$log" >&2; exit 1; }
"$bench" --coordinator "$address" --pid "$pid" --tasks "$tasks" --shape "$shape" --workers "$workers"
