#!/usr/bin/env bash
# Runs the example against librdkafka's mock cluster (no broker needed): starts
# sluice-kafka-mock with the two topics, produces orders.jsonl into "orders", runs the job with
# `sluice run`, prints what arrived in "big-orders", and stops the mock cluster.
# Usage (after scripts/build.sh): examples/kafka-transform/run-with-mock.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${SLUICE_BUILD_DIR:-$here/../../build}"
mock="$build/connectors/kafka/tools/sluice-kafka-mock"
sluice="$build/cli/sluice"

fifo="$(mktemp -u)"
mkfifo "$fifo"
"$mock" serve --topic orders:3 --topic big-orders:3 <"$fifo" >"$fifo.out" &
mock_pid=$!
exec 3>"$fifo"  # keeps the mock's stdin open; closing it (or `quit`) stops the mock
trap 'echo quit >&3 2>/dev/null || true; exec 3>&-; wait $mock_pid 2>/dev/null || true; rm -f "$fifo" "$fifo.out"' EXIT
for _ in $(seq 100); do
  grep -q '^bootstrap ' "$fifo.out" 2>/dev/null && break
  sleep 0.1
done
export KAFKA_BROKERS="$(sed -n 's/^bootstrap //p' "$fifo.out")"
echo "mock Kafka cluster at $KAFKA_BROKERS" >&2

"$mock" produce --bootstrap "$KAFKA_BROKERS" --topic orders <"$here/orders.jsonl"
(cd "$here" && "$sluice" run job.ts)
"$mock" consume --bootstrap "$KAFKA_BROKERS" --topic big-orders
