# Shared by the examples' run.sh scripts (source it after `set -euo pipefail`): a temporary
# folder $work removed on exit, the server in $server_pid stopped on exit (also on INT/TERM),
# free_port, and start_kafka_mock <topic:partitions>, which starts librdkafka's mock cluster
# (sluice-kafka-mock, path in $mock) and exports its address as KAFKA_BROKERS.
work="$(mktemp -d)"
mock_pid=""
server_pid=""
cleanup() {
  trap '' PIPE  # the mock may be gone already (a TERM to the whole group): writing "quit" fails
  if [ -n "$mock_pid" ]; then
    echo quit >&3 2>/dev/null || true
    exec 3>&- || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
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
start_kafka_mock() {
  mkfifo "$work/mock.in"
  "$mock" serve --topic "$1" <"$work/mock.in" >"$work/mock.out" 2>&1 &
  mock_pid=$!
  exec 3>"$work/mock.in"
  for _ in $(seq 100); do
    grep -q '^bootstrap ' "$work/mock.out" 2>/dev/null && break
    sleep 0.1
  done
  KAFKA_BROKERS="$(sed -n 's/^bootstrap //p' "$work/mock.out")"
  export KAFKA_BROKERS
  [ -n "$KAFKA_BROKERS" ] || { cat "$work/mock.out" >&2; echo "the mock cluster did not start" >&2; exit 1; }
  echo "mock Kafka cluster at $KAFKA_BROKERS" >&2
}
