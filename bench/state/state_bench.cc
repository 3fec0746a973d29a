// RocksStateBackend Get and Write of 100-byte values over 1M keys (128 key groups), with the
// backend's default tuning (shared 256 MB block cache, bloom filters, WAL off).
//   build/bench/state/state_bench [--benchmark_filter=...]
// SLUICE_BENCH_DIR chooses where the instance lives (default: the system's temp directory).
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "worker/state/rocks_state_backend.h"

namespace sluice::state {
namespace {

constexpr int kKeys = 1000000;
constexpr uint32_t kKeyGroups = 128;

std::string KeyOf(int n) { return "key" + std::to_string(n); }
uint32_t GroupOf(int n) { return static_cast<uint32_t>(n) % kKeyGroups; }

std::string ValueOf(int n, int version) {
  std::string value =
      "{\"n\":" + std::to_string(n) + ",\"v\":" + std::to_string(version) + ",\"pad\":\"";
  value.append(100 - value.size() - 2, 'x');
  value += "\"}";
  return value;
}

RocksStateBackend *g_backend = nullptr;
std::string g_root;

// One instance with kKeys entries, made on first use; closed and deleted when the process exits.
RocksStateBackend &Loaded() {
  if (g_backend != nullptr) return *g_backend;
  const char *base = std::getenv("SLUICE_BENCH_DIR");
  g_root =
      ((base != nullptr ? std::filesystem::path(base) : std::filesystem::temp_directory_path()) /
       "sluice_state_bench_XXXXXX")
          .string();
  if (mkdtemp(g_root.data()) == nullptr) std::abort();
  auto opened = RocksStateBackend::Open(g_root + "/db", {"op1"});
  if (!opened.ok()) {
    std::fprintf(stderr, "%s\n", opened.status().message().c_str());
    std::abort();
  }
  std::vector<StateBackend::Mutation> batch;
  for (int n = 0; n < kKeys; ++n) {
    batch.push_back({0, GroupOf(n), KeyOf(n), ValueOf(n, 0)});
    if (batch.size() == 1000) {
      if (!(*opened)->Write(batch).ok()) std::abort();
      batch.clear();
    }
  }
  g_backend = opened->release();
  std::atexit([] {
    delete g_backend;
    std::filesystem::remove_all(g_root);
  });
  return *g_backend;
}

// Random existing keys; right after loading most reads find their block outside the block cache.
void BM_GetExisting(benchmark::State &state) {
  RocksStateBackend &backend = Loaded();
  std::mt19937 random(1);
  std::uniform_int_distribution<int> pick(0, kKeys - 1);
  for (auto _ : state) {
    const int n = pick(random);
    Result<std::optional<std::string>> value = backend.Get(0, GroupOf(n), KeyOf(n));
    if (!value.ok() || !value->has_value()) state.SkipWithError("missing value");
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

// The same once every key was read (its blocks are in the block cache).
void BM_GetExistingWarm(benchmark::State &state) {
  RocksStateBackend &backend = Loaded();
  static bool warm = false;
  for (int n = 0; !warm && n < kKeys; ++n) {
    if (!backend.Get(0, GroupOf(n), KeyOf(n)).ok()) state.SkipWithError("read failed");
  }
  warm = true;
  BM_GetExisting(state);
}

// A key that was never written: the first record of a new key (bloom filters answer).
void BM_GetAbsent(benchmark::State &state) {
  RocksStateBackend &backend = Loaded();
  std::mt19937 random(2);
  std::uniform_int_distribution<int> pick(kKeys, 2 * kKeys);
  for (auto _ : state) {
    const int n = pick(random);
    Result<std::optional<std::string>> value = backend.Get(0, GroupOf(n), KeyOf(n));
    if (!value.ok() || value->has_value()) state.SkipWithError("unexpected value");
    benchmark::DoNotOptimize(value);
  }
  state.SetItemsProcessed(state.iterations());
}

// Overwrites of random existing keys in batches of range(0) (an eviction chunk writes ~1/8 of
// the isolate's cache in one call).
void BM_WriteBatch(benchmark::State &state) {
  RocksStateBackend &backend = Loaded();
  std::mt19937 random(3);
  std::uniform_int_distribution<int> pick(0, kKeys - 1);
  const size_t batch_size = static_cast<size_t>(state.range(0));
  // Made before timing: 200k mutations, cycled through.
  std::vector<std::vector<StateBackend::Mutation>> batches(
      std::max<size_t>(1, 200000 / batch_size));
  for (size_t b = 0; b < batches.size(); ++b) {
    for (size_t i = 0; i < batch_size; ++i) {
      const int n = pick(random);
      batches[b].push_back({0, GroupOf(n), KeyOf(n), ValueOf(n, static_cast<int>(b) + 1)});
    }
  }
  size_t next = 0;
  for (auto _ : state) {
    if (!backend.Write(batches[next]).ok()) state.SkipWithError("write failed");
    next = (next + 1) % batches.size();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch_size));
}

BENCHMARK(BM_GetExisting);
BENCHMARK(BM_GetExistingWarm);
BENCHMARK(BM_GetAbsent);
BENCHMARK(BM_WriteBatch)->Arg(1)->Arg(125)->Arg(1000);

}  // namespace
}  // namespace sluice::state

BENCHMARK_MAIN();
