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

work="$(mktemp -d)"
mock_pid=""
redis_pid=""
cleanup() {
  trap '' PIPE  # the mock may be gone already (a TERM to the whole group): writing "quit" fails
  if [ -n "$mock_pid" ]; then
    echo quit >&3 2>/dev/null || true
    exec 3>&- || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  # A server stopped by the same signal may still be writing its last files for a moment.
  rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work"; }
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM  # so that cleanup runs then too

# A free TCP port on 127.0.0.1, as the OS hands it out.
free_port() {
  node -e 'const s = require("net").createServer();
           s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# The mock cluster: its stdin stays open on fd 3 ("quit" or closing it stops it).
mkfifo "$work/mock.in"
"$mock" serve --topic clicks:2 <"$work/mock.in" >"$work/mock.out" 2>&1 &
mock_pid=$!
exec 3>"$work/mock.in"
for _ in $(seq 100); do
  grep -q '^bootstrap ' "$work/mock.out" 2>/dev/null && break
  sleep 0.1
done
export KAFKA_BROKERS="$(sed -n 's/^bootstrap //p' "$work/mock.out")"
[ -n "$KAFKA_BROKERS" ] || { cat "$work/mock.out" >&2; echo "the mock cluster did not start" >&2; exit 1; }
echo "mock Kafka cluster at $KAFKA_BROKERS" >&2

port="$(free_port)"
redis-server --port "$port" --bind 127.0.0.1 --dir "$work" --save "" --appendonly no \
  --daemonize no --logfile "$work/redis.log" &
redis_pid=$!
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
