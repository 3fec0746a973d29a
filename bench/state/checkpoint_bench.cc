// Checkpoint and restore of a keyed chain's state with 1M keys: a tumbling-window chain (one
// window and one event-time timer per key) over a RocksStateBackend, as a task runs it.
//   build/bench/state/checkpoint_bench [keys]
// Prints the time of each step: filling the state, SnapshotState (timers to table 1, cache
// flushed), Checkpoint (RocksDB checkpoint), a second snapshot after a few changes, Restore at
// the same parallelism (files linked) and at another (entries copied), and a restored runner's
// Create (timers read back). SLUICE_BENCH_DIR chooses where the instances live (default: the
// system's temp directory).
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "worker/js/event_times.h"
#include "worker/js/js_engine.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint32_t kMaxParallelism = 128;
constexpr int kBatch = 10000;  // records per RunText
const std::vector<std::string> kTables = {"op1", "op1#timers"};

template <typename T>
T Must(Result<T> result, const char *what) {
  if (!result.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, result.status().message().c_str());
    std::exit(1);
  }
  return std::move(result).value();
}

void Must(const Status &status, const char *what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, status.message().c_str());
    std::exit(1);
  }
}

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void Print(const char *what, double seconds, int items) {
  std::printf("| %-58s | %8.3f s | %7.2f µs |\n", what, seconds, seconds * 1e6 / items);
  std::fflush(stdout);
}

js::ChainSpec WindowChain(bool restore) {
  js::StageSpec stage;
  stage.operator_id = "op1";
  stage.operator_name = "sums";
  stage.kind = "window";
  stage.config_json = R"({"assigner":{"type":"tumbling","size":60000},"function":"reduce"})";
  stage.functions["reduce"] = "(a, b) => ({ k: a.k, v: a.v + b.v })";
  js::ChainSpec chain;
  chain.stages = {stage};
  chain.text_format = "json";
  chain.output = js::OutputMode::kCount;
  chain.input_key_fn = "(r) => r.k";
  chain.max_parallelism = kMaxParallelism;
  chain.restore_state = restore;
  return chain;
}

// Records `first` .. `first + count - 1`, one key each, all in the window [0, 60000).
std::string Batch(int first, int count) {
  js::EventTimes times;
  std::string lines;
  for (int i = first; i < first + count; ++i) {
    times.Add(i % 60000);
    lines += "{\"k\":\"key" + std::to_string(i) + "\",\"v\":1}\n";
  }
  return times.Frame(lines);
}

std::unique_ptr<js::ChainRunner> Runner(bool restore, RocksStateBackend *backend) {
  js::Limits limits;
  limits.heap_limit_mb = 4096;  // 1M timers and their snapshot
  limits.call_timeout_ms = 600000;
  return Must(js::V8Engine().Create(WindowChain(restore), limits, backend), "create");
}

void Run(int keys, const std::string &root) {
  std::printf("| %-58s | %10s | %10s |\n|---|---|---|\n", "step (keys)", "time", "per key");
  auto backend = Must(RocksStateBackend::Open(root + "/live", kTables), "open");
  auto runner = Runner(false, backend.get());
  Clock::time_point start = Clock::now();
  for (int first = 0; first < keys; first += kBatch) {
    Must(runner->RunText(Batch(first, std::min(kBatch, keys - first))).status(), "run");
  }
  Print("fill: RunText of one record per key (window + timer)", Seconds(start), keys);

  start = Clock::now();
  Must(runner->SnapshotState(), "snapshot");
  const double snapshot = Seconds(start);
  Print("SnapshotState (timers to table 1, cache flushed)", snapshot, keys);
  start = Clock::now();
  Must(backend->Checkpoint(root + "/chk-1"), "checkpoint");
  const double checkpoint = Seconds(start);
  Print("Checkpoint (RocksDB checkpoint)", checkpoint, keys);
  Print("SnapshotState + Checkpoint", snapshot + checkpoint, keys);

  // 1% of the keys change; every timer is written again.
  Must(runner->RunText(Batch(0, keys / 100)).status(), "run");
  start = Clock::now();
  Must(runner->SnapshotState(), "snapshot");
  Must(backend->Checkpoint(root + "/chk-2"), "checkpoint");
  Print("second SnapshotState + Checkpoint (1% of keys changed)", Seconds(start), keys);
  runner.reset();
  backend.reset();

  const KeyGroupRange all{0, kMaxParallelism - 1};
  const std::vector<RestoreSource> one = {{root + "/chk-1", all.first, all.last}};
  start = Clock::now();
  auto same = Must(RocksStateBackend::Restore(root + "/same", kTables, one, all.first, all.last),
                   "restore");
  Print("Restore, same key groups (files linked)", Seconds(start), keys);
  start = Clock::now();
  auto restored = Runner(true, same.get());
  Print("Create with restore_state (every timer read back)", Seconds(start), keys);
  restored.reset();
  same.reset();

  std::vector<RestoreSource> halves;
  start = Clock::now();
  for (uint32_t s = 0; s < 2; ++s) {
    const KeyGroupRange range = Must(KeyGroupRangeOf(s, 2, kMaxParallelism), "range");
    const std::string dir = root + "/half-" + std::to_string(s);
    auto half =
        Must(RocksStateBackend::Restore(dir, kTables, one, range.first, range.last), "restore");
    Must(half->Checkpoint(dir + "-chk"), "checkpoint");
    halves.push_back({dir + "-chk", range.first, range.last});
  }
  Print("Restore 1 -> 2 (entries copied; both halves + checkpoints)", Seconds(start), keys);
  start = Clock::now();
  auto merged =
      Must(RocksStateBackend::Restore(root + "/merged", kTables, halves, all.first, all.last),
           "restore");
  Print("Restore 2 -> 1 (entries copied)", Seconds(start), keys);
}

}  // namespace
}  // namespace sluice::state

int main(int argc, char **argv) {
  const int keys = argc > 1 ? std::atoi(argv[1]) : 1000000;
  if (keys <= 0) {
    std::fprintf(stderr, "usage: checkpoint_bench [keys > 0]\n");
    return 2;
  }
  const char *base = std::getenv("SLUICE_BENCH_DIR");
  std::string root =
      ((base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
       "sluice_checkpoint_bench_XXXXXX")
          .string();
  if (mkdtemp(root.data()) == nullptr) return 1;
  std::printf("%d keys, max parallelism %u\n\n", keys, sluice::state::kMaxParallelism);
  sluice::state::Run(keys, root);
  std::filesystem::remove_all(root);
  return 0;
}
