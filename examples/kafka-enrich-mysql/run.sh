#!/usr/bin/env bash
# Runs the example with everything it needs on this machine, on loopback ports the OS picks:
# librdkafka's mock Kafka cluster (sluice-kafka-mock, built with the tests) with the topic
# "orders", and a throwaway MariaDB server in a temporary folder (Debian: apt-get install
# mariadb-server) with the database `shop`, a user and the table. It produces orders.jsonl,
# runs the job with `sluice run`, prints the rows that arrived (id, customer, region, tier,
# total, items; tab-separated), and stops both servers on exit.
# Usage (after scripts/build.sh): examples/kafka-enrich-mysql/run.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
build="${SLUICE_BUILD_DIR:-$here/../../build}"
mock="${SLUICE_KAFKA_MOCK:-$build/connectors/kafka/tools/sluice-kafka-mock}"
sluice="${SLUICE_BIN:-$build/cli/sluice}"

# shellcheck source=../lib/example-servers.sh
. "$here/../lib/example-servers.sh"
start_kafka_mock orders:3

# MariaDB: a fresh data folder, a server on a free port, then the database, user and table.
as_root=()
[ "$(id -u)" = 0 ] && as_root=(--user=root)
mariadb-install-db --no-defaults --datadir="$work/data" --auth-root-authentication-method=normal \
  --skip-test-db "${as_root[@]}" >"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; exit 1; }
port="$(free_port)"
mariadbd --no-defaults --datadir="$work/data" --port="$port" --bind-address=127.0.0.1 \
  --socket="$work/mysqld.sock" --pid-file="$work/mysqld.pid" --log-error="$work/error.log" \
  --skip-log-bin --innodb-buffer-pool-size=32M --innodb-log-file-size=16M "${as_root[@]}" \
  >"$work/mariadbd.out" 2>&1 &
server_pid=$!
root_sql() { mariadb --no-defaults --socket="$work/mysqld.sock" -uroot "$@"; }
for _ in $(seq 600); do
  root_sql -e "SELECT 1" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/error.log" >&2; exit 1; }
  sleep 0.1
done
root_sql -e "
  CREATE DATABASE shop;
  CREATE USER 'sluice'@'%' IDENTIFIED BY 'sluice-pw';
  GRANT ALL ON shop.* TO 'sluice'@'%';
  CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(32), region VARCHAR(16),
                            tier VARCHAR(16), total DECIMAL(10,2), items JSON);"
echo "MariaDB at 127.0.0.1:$port" >&2

"$mock" produce --bootstrap "$KAFKA_BROKERS" --topic orders --json <"$here/orders.jsonl"
(cd "$here" && "$sluice" run job.ts --param "port=$port" --param password=sluice-pw)

echo "rows in shop.orders (id, customer, region, tier, total, items):" >&2
root_sql --batch --skip-column-names shop \
  -e "SELECT id, customer, region, tier, total, items FROM orders ORDER BY id"
