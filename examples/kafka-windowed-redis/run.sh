#!/usr/bin/env bash
# Runs the example with everything it needs on this machine, on loopback ports the OS picks:
# librdkafka's mock Kafka cluster (sluice-kafka-mock, built with the tests) with the topic
# "clicks", and a throwaway redis-server (Debian: apt-get install redis-server). It produces
# clicks.jsonl (with the messages' timestamps), runs the job with `sluice run`, prints the
# windows that arrived in Redis as "clicks:<window start> <page> <count>", and stops both
# servers on exit.
# Usage (after scripts/build.sh): examples/kafka-windowed-redis/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${SLUICE_BUILD_DIR:-$here/../../build}"
mock="${SLUICE_KAFKA_MOCK:-$build/connectors/kafka/tools/sluice-kafka-mock}"
sluice="${SLUICE_BIN:-$build/cli/sluice}"

# shellcheck source=../lib/example-servers.sh
. "$here/../lib/example-servers.sh"
start_kafka_mock clicks:2

port="$(free_port)"
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no \
  --daemonize no --logfile "$work/redis.log" &
server_pid=$!
for _ in $(seq 100); do
  [ "$(redis-cli -p "$port" PING 2>/dev/null)" = "PONG" ] && break
  sleep 0.1
done
[ "$(redis-cli -p "$port" PING 2>/dev/null)" = "PONG" ] || { cat "$work/redis.log" >&2; exit 1; }
echo "redis-server at 127.0.0.1:$port" >&2

"$mock" produce --bootstrap "$KAFKA_BROKERS" --topic clicks --json <"$here/clicks.jsonl"
(cd "$here" && "$sluice" run job.ts --param "redis=127.0.0.1:$port")

echo "windows in Redis (key, page, clicks):" >&2
redis-cli -p "$port" --scan --pattern 'clicks:*' | sort | while read -r key; do
  redis-cli -p "$port" HGETALL "$key" | paste -d' ' - - | sort | sed "s|^|$key |"
done
