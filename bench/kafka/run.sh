#!/usr/bin/env bash
# Kafka source -> transform -> Kafka sink throughput through librdkafka's mock cluster.
#
#   bench/kafka/run.sh                     # 1M records, parallelism 1 and 2, 3 runs each
#   KAFKA_BENCH_RECORDS=200000 KAFKA_BENCH_PARALLELISM=1 bench/kafka/run.sh
#
# Starts `sluice-kafka-mock serve` with topics bench-in (32 partitions: the mock keeps only about
# 5 MB per partition, dropping the oldest) and bench-out (8),
# produces KAFKA_BENCH_RECORDS JSON orders (~60 bytes) into bench-in once, then per parallelism
# runs bench/kafka/transform.ts with `sluice run` KAFKA_BENCH_RUNS times (each run writes the
# records to bench-out again) and prints a markdown table on stdout:
#   records/s           = records in / median job wall time (the "finished in <ms> ms" line)
#   records/s per core  = records/s / parallelism (one thread per task, as bench/run-nexmark.sh)
#   sluice CPU s, mock CPU s = median CPU seconds (user + sys) of the `sluice run` process (with
#                         the node process that compiles the job file) and of the mock cluster
# The mock cluster is a broker on the same 2 cores: it competes with the job for CPU.
# Exits non-zero if a run fails or reads or writes a different count.
# SLUICE_BIN and SLUICE_KAFKA_MOCK override the binaries (default <repo>/build/...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
sluice="${SLUICE_BIN:-$repo/build/cli/sluice}"
mock="${SLUICE_KAFKA_MOCK:-$repo/build/connectors/kafka/tools/sluice-kafka-mock}"
records="${KAFKA_BENCH_RECORDS:-1000000}"
parallelisms="${KAFKA_BENCH_PARALLELISM:-1 2}"
runs="${KAFKA_BENCH_RUNS:-3}"

for bin in "$sluice" "$mock"; do
  [[ -x "$bin" ]] || { echo "kafka bench: no binary $bin (build first: scripts/build.sh)" >&2; exit 1; }
done
[[ "$records" =~ ^[1-9][0-9]*$ ]] || { echo "kafka bench: KAFKA_BENCH_RECORDS must be a positive integer" >&2; exit 1; }

work="$(mktemp -d)"
mkfifo "$work/mock.in"
"$mock" serve --topic bench-in:32 --topic bench-out:8 <"$work/mock.in" >"$work/mock.out" 2>&1 &
mock_pid=$!
exec 3>"$work/mock.in"
trap 'echo quit >&3 2>/dev/null || true; exec 3>&-; wait $mock_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  grep -q '^bootstrap ' "$work/mock.out" && break
  sleep 0.1
done
export KAFKA_BROKERS="$(sed -n 's/^bootstrap //p' "$work/mock.out")"
[[ -n "$KAFKA_BROKERS" ]] || { echo "kafka bench: the mock cluster did not start" >&2; cat "$work/mock.out" >&2; exit 1; }

echo "kafka bench: producing $records records into bench-in at $KAFKA_BROKERS" >&2
awk -v n="$records" 'BEGIN { for (i = 0; i < n; i++) printf "{\"id\":%d,\"customer\":\"c%d\",\"amount\":%d}\n", i, i % 1000, i % 977 }' |
  "$mock" produce --bootstrap "$KAFKA_BROKERS" --topic bench-in

mock_cpu() { awk '{ print $14 + $15 }' "/proc/$mock_pid/stat"; }  # clock ticks
ticks="$(getconf CLK_TCK)"
rows=()
for p in $parallelisms; do
  walls=()
  cpus=()
  mcpus=()
  for ((i = 1; i <= runs; i++)); do
    before="$(mock_cpu)"
    if ! /usr/bin/time -f "cpu %U %S" -o "$work/time" "$sluice" run "$here/transform.ts" --parallelism "$p" \
        >/dev/null 2>"$work/log"; then
      echo "kafka bench: parallelism $p run $i failed:" >&2
      tail -n 5 "$work/log" >&2
      exit 1
    fi
    after="$(mock_cpu)"
    line="$(grep -E '^job .* finished in [0-9]+ ms: [0-9]+ records in, [0-9]+ out' "$work/log" | tail -n 1 || true)"
    ms="$(sed -E 's/.* finished in ([0-9]+) ms:.*/\1/' <<<"$line")"
    in="$(sed -E 's/.*: ([0-9]+) records in,.*/\1/' <<<"$line")"
    out="$(sed -E 's/.* records in, ([0-9]+) out.*/\1/' <<<"$line")"
    if [[ "$in" != "$records" || "$out" != "$records" ]]; then
      echo "kafka bench: parallelism $p run $i: $in in, $out out, expected $records" >&2
      exit 1
    fi
    cpu="$(awk '/^cpu/ { print $2 + $3 }' "$work/time")"
    mcpu="$(awk -v t="$((after - before))" -v hz="$ticks" 'BEGIN { printf "%.2f", t / hz }')"
    echo "kafka bench: p=$p run $i: $ms ms wall, $cpu s CPU (sluice), $mcpu s CPU (mock)" >&2
    walls+=("$ms")
    cpus+=("$cpu")
    mcpus+=("$mcpu")
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
  wall="$(median "${walls[@]}")"
  cpu="$(median "${cpus[@]}")"
  mcpu="$(median "${mcpus[@]}")"
  rows+=("$(awk -v n="$records" -v p="$p" -v ms="$wall" -v cpu="$cpu" -v mcpu="$mcpu" 'BEGIN {
    if (ms <= 0) ms = 1;
    rps = n / (ms / 1000.0);
    printf "| %d | %d | %.0f | %.0f | %.2f | %.2f |", n, p, rps, rps / p, cpu, mcpu }')")
done

echo "| records | parallelism | records/s | records/s per core | sluice CPU s | mock CPU s |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
