// Throughput of the JS layer alone: one ChainRunner driving a generated source
// through a chain, a batch per call. items_per_second counts source events.
//
//   ninja -C build js_chain_bench && build/bench/js/js_chain_bench

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>

#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

// Nexmark q1: bids with their price converted to euros.
constexpr char kQ1Filter[] = "(r) => r.type === 'bid'";
constexpr char kQ1Map[] =
    "(b) => ({type: b.type, auction: b.auction, bidder: b.bidder, price: "
    "b.price * 0.908, "
    "channel: b.channel, url: b.url, dateTime: b.dateTime, extra: b.extra})";

StageSpec Stage(std::string id, std::string kind, std::string fn = "") {
  StageSpec stage;
  stage.operator_id = id;
  stage.operator_name = std::move(id);
  stage.kind = std::move(kind);
  if (!fn.empty()) stage.functions["fn"] = std::move(fn);
  return stage;
}

void RunChain(benchmark::State &state, ChainSpec chain) {
  const int32_t batch = static_cast<int32_t>(state.range(0));
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  if (!runner.ok()) {
    state.SkipWithError(runner.status().message().c_str());
    return;
  }
  int64_t next = 0;
  uint64_t out_bytes = 0;
  uint64_t out_records = 0;
  for (auto _ : state) {
    Result<BatchResult> result = (*runner)->RunGenerated(next, 1, batch);
    if (!result.ok()) {
      state.SkipWithError(result.status().message().c_str());
      return;
    }
    next += batch;
    out_bytes += result->json_lines.size();
    out_records += result->records_out;
    benchmark::DoNotOptimize(result->json_lines.data());
  }
  state.SetItemsProcessed(next);
  state.SetBytesProcessed(static_cast<int64_t>(out_bytes));
  state.counters["out_per_in"] = static_cast<double>(out_records) / static_cast<double>(next);
}

ChainSpec Q1(OutputMode output) {
  ChainSpec chain;
  chain.stages = {Stage("nexmark", "source.nexmark"), Stage("bids", "filter", kQ1Filter),
                  Stage("euros", "map", kQ1Map)};
  chain.output = output;
  return chain;
}

void BM_Q1Count(benchmark::State &state) { RunChain(state, Q1(OutputMode::kCount)); }
void BM_Q1JsonLines(benchmark::State &state) { RunChain(state, Q1(OutputMode::kJsonLines)); }

// The parts of q1's cost: generating events, and a call into V8 with next to no
// work.
void BM_NexmarkOnlyCount(benchmark::State &state) {
  ChainSpec chain;
  chain.stages = {Stage("nexmark", "source.nexmark")};
  chain.output = OutputMode::kCount;
  RunChain(state, chain);
}
void BM_CallOverhead(benchmark::State &state) {
  ChainSpec chain;
  chain.stages = {Stage("numbers", "source.generator")};
  chain.output = OutputMode::kCount;
  RunChain(state, chain);
}

BENCHMARK(BM_Q1Count)->Arg(1024)->Arg(4096);
BENCHMARK(BM_Q1JsonLines)->Arg(1024)->Arg(4096);
BENCHMARK(BM_NexmarkOnlyCount)->Arg(1024)->Arg(4096);
BENCHMARK(BM_CallOverhead)->Arg(1);

}  // namespace
}  // namespace sluice::js

BENCHMARK_MAIN();
