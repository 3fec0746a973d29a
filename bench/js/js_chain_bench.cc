// Throughput of the JS layer alone: one ChainRunner driving a generated source
// (or JSON text) through a chain, a batch per call. items_per_second counts
// source events (input records for the RunText cases).
//
//   ninja -C build js_chain_bench && build/bench/js/js_chain_bench
//
// The exchange codec: BM_Q0HashPartitioned / BM_GenericHashPartitioned (columnar, the default)
// against their ...Json twins (BatchCodec::kJsonLines), and BM_*Decode{Json,Columnar} for the
// receiving side.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

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
    for (const std::vector<std::string> &edge : result->partitions) {
      for (const std::string &lines : edge) out_bytes += lines.size();
    }
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

// q0-shaped: nexmark bids passed through, hash-partitioned by auction over two
// downstream subtasks (what an upstream task of a keyed exchange does).
ChainSpec Q0Hash(std::string key_fn) {
  ChainSpec chain;
  chain.stages = {Stage("nexmark", "source.nexmark"), Stage("bids", "filter", kQ1Filter)};
  chain.output = OutputMode::kPartitioned;
  PartitionSpec edge;
  edge.partitioning = Partitioning::kHash;
  edge.targets = 2;
  edge.key_fn = std::move(key_fn);
  chain.outputs = {edge};
  return chain;
}
void BM_Q0HashPartitioned(benchmark::State &state) { RunChain(state, Q0Hash("(b) => b.auction")); }
// The same with the exchange codec off (JSON lines per target, as before the columnar codec).
void BM_Q0HashPartitionedJson(benchmark::State &state) {
  ChainSpec chain = Q0Hash("(b) => b.auction");
  chain.codec = BatchCodec::kJsonLines;
  RunChain(state, chain);
}
// The same with a string key (the hash loops over the key's characters).
void BM_Q0HashPartitionedStringKey(benchmark::State &state) {
  RunChain(state, Q0Hash("(b) => b.channel"));
}
void BM_Q0JsonLines(benchmark::State &state) {
  ChainSpec chain = Q0Hash("");
  chain.output = OutputMode::kJsonLines;
  chain.outputs.clear();
  RunChain(state, chain);
}

// What encoding a bid costs, counted without output: JSON.stringify against a
// hand-written encoder for the bid's shape (the best a generated per-shape
// encoder could do; string fields still go through JSON.stringify for escaping).
constexpr char kBidEncoder[] =
    "(b) => '{\"type\":' + JSON.stringify(b.type) + ',\"auction\":' + b.auction + "
    "',\"bidder\":' + b.bidder + ',\"price\":' + b.price + ',\"channel\":' + "
    "JSON.stringify(b.channel) + ',\"url\":' + JSON.stringify(b.url) + ',\"dateTime\":' + "
    "b.dateTime + ',\"extra\":' + JSON.stringify(b.extra) + '}'";
void RunEncoder(benchmark::State &state, std::string fn) {
  ChainSpec chain = Q0Hash("");
  chain.output = OutputMode::kCount;
  chain.outputs.clear();
  if (!fn.empty()) chain.stages.push_back(Stage("encode", "map", std::move(fn)));
  RunChain(state, chain);
}
void BM_BidsNoEncoding(benchmark::State &state) { RunEncoder(state, ""); }
void BM_BidsJsonStringify(benchmark::State &state) {
  RunEncoder(state, "(b) => JSON.stringify(b)");
}
void BM_BidsShapeEncoder(benchmark::State &state) { RunEncoder(state, kBidEncoder); }

// `count` nexmark bids as JSON lines, the input of a task behind an exchange.
std::string BidLines(int32_t count) {
  ChainSpec chain = Q0Hash("");
  chain.output = OutputMode::kJsonLines;
  chain.outputs.clear();
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  if (!runner.ok()) return "";
  // 46 of every 50 events are bids: twice as many events is enough.
  Result<BatchResult> batch = (*runner)->RunGenerated(0, 1, 2 * count);
  if (!batch.ok()) return "";
  size_t end = 0;
  for (int32_t i = 0; i < count; ++i) end = batch->json_lines.find('\n', end) + 1;
  return batch->json_lines.substr(0, end);
}

// A record of a generic shape: nested values (JSON columns), a boolean, a repeated and a unique
// string, numbers.
constexpr char kGenericRecord[] =
    "(i) => ({id: i, user: 'user-' + (i % 1000), active: i % 3 === 0, score: i * 0.37, "
    "tags: ['a', 'b' + (i % 5)], geo: {lat: 52.5 + i % 10, lon: 13.4}, note: 'x'.repeat(i % 7), "
    "level: ['info', 'warn', 'error'][i % 3]})";

ChainSpec Generic(OutputMode output, BatchCodec codec) {
  ChainSpec chain;
  chain.stages = {Stage("gen", "source.generator", kGenericRecord)};
  chain.output = output;
  if (output == OutputMode::kPartitioned) {
    PartitionSpec edge;
    edge.partitioning = Partitioning::kHash;
    edge.targets = 2;
    edge.key_fn = "(r) => r.user";
    chain.outputs = {edge};
  }
  chain.codec = codec;
  return chain;
}
void BM_GenericHashPartitioned(benchmark::State &state) {
  RunChain(state, Generic(OutputMode::kPartitioned, BatchCodec::kColumnar));
}
void BM_GenericHashPartitionedJson(benchmark::State &state) {
  RunChain(state, Generic(OutputMode::kPartitioned, BatchCodec::kJsonLines));
}
void BM_GenericNoEncoding(benchmark::State &state) {
  RunChain(state, Generic(OutputMode::kCount, BatchCodec::kColumnar));
}

// One batch of `count` records of a generated chain, as one target of a forward edge receives
// it with `codec`.
std::string Encoded(ChainSpec chain, int32_t count, BatchCodec codec) {
  chain.output = OutputMode::kPartitioned;
  chain.codec = codec;
  PartitionSpec edge;
  edge.partitioning = Partitioning::kForward;
  chain.outputs = {edge};
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  if (!runner.ok()) return "";
  Result<BatchResult> batch = (*runner)->RunGenerated(0, 1, count);
  if (!batch.ok()) return "";
  return batch->partitions[0][0];
}

// `count` nexmark bids (count is the events generated; 46 of 50 are bids).
std::string Bids(int32_t count, BatchCodec codec) {
  ChainSpec chain = Q0Hash("");
  chain.outputs.clear();
  return Encoded(chain, count, codec);
}

// RunText of JSON bids into a reduce keyed by auction (highest bid so far).
void RunJsonText(benchmark::State &state, ChainSpec chain, std::string input = "") {
  const int32_t batch = static_cast<int32_t>(state.range(0));
  if (input.empty()) input = BidLines(batch);
  if (input.empty()) {
    state.SkipWithError("could not generate the input");
    return;
  }
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  if (!runner.ok()) {
    state.SkipWithError(runner.status().message().c_str());
    return;
  }
  int64_t records = 0;
  for (auto _ : state) {
    Result<BatchResult> result = (*runner)->RunText(input);
    if (!result.ok()) {
      state.SkipWithError(result.status().message().c_str());
      return;
    }
    records += static_cast<int64_t>(result->records_in);
    benchmark::DoNotOptimize(result->json_lines.data());
  }
  state.SetItemsProcessed(records);
  state.SetBytesProcessed(static_cast<int64_t>(input.size()) * state.iterations());
}

ChainSpec JsonReduce(OutputMode output) {
  ChainSpec chain;
  chain.stages = {Stage("max", "reduce", "(a, b) => (b.price > a.price ? b : a)")};
  chain.text_format = "json";
  chain.input_key_fn = "(b) => b.auction";
  chain.output = output;
  return chain;
}
void BM_JsonReduceCount(benchmark::State &state) {
  RunJsonText(state, JsonReduce(OutputMode::kCount));
}
void BM_JsonReduceJsonLines(benchmark::State &state) {
  RunJsonText(state, JsonReduce(OutputMode::kJsonLines));
}
// Only JSON.parse of the lines: the receiving half of the exchange's encoding.
void BM_JsonParseOnlyCount(benchmark::State &state) {
  ChainSpec chain;
  chain.text_format = "json";
  chain.output = OutputMode::kCount;
  RunJsonText(state, chain);
}

// The receiving half of the exchange per codec: decoding only, counted.
ChainSpec ParseOnly() {
  ChainSpec chain;
  chain.text_format = "json";
  chain.output = OutputMode::kCount;
  return chain;
}
void BM_BidsDecodeJson(benchmark::State &state) {
  RunJsonText(state, ParseOnly(), Bids(static_cast<int32_t>(state.range(0)), BatchCodec::kJsonLines));
}
void BM_BidsDecodeColumnar(benchmark::State &state) {
  RunJsonText(state, ParseOnly(), Bids(static_cast<int32_t>(state.range(0)), BatchCodec::kColumnar));
}
void BM_GenericDecodeJson(benchmark::State &state) {
  RunJsonText(state, ParseOnly(),
              Encoded(Generic(OutputMode::kCount, BatchCodec::kJsonLines),
                      static_cast<int32_t>(state.range(0)), BatchCodec::kJsonLines));
}
void BM_GenericDecodeColumnar(benchmark::State &state) {
  RunJsonText(state, ParseOnly(),
              Encoded(Generic(OutputMode::kCount, BatchCodec::kColumnar),
                      static_cast<int32_t>(state.range(0)), BatchCodec::kColumnar));
}
void BM_BidsReduceColumnar(benchmark::State &state) {
  RunJsonText(state, JsonReduce(OutputMode::kCount),
              Bids(static_cast<int32_t>(state.range(0)), BatchCodec::kColumnar));
}

BENCHMARK(BM_Q1Count)->Arg(1024)->Arg(4096);
BENCHMARK(BM_Q1JsonLines)->Arg(1024)->Arg(4096);
BENCHMARK(BM_NexmarkOnlyCount)->Arg(1024)->Arg(4096);
BENCHMARK(BM_CallOverhead)->Arg(1);
BENCHMARK(BM_Q0JsonLines)->Arg(4096);
BENCHMARK(BM_Q0HashPartitioned)->Arg(4096);
BENCHMARK(BM_Q0HashPartitionedJson)->Arg(4096);
BENCHMARK(BM_GenericNoEncoding)->Arg(4096);
BENCHMARK(BM_GenericHashPartitioned)->Arg(4096);
BENCHMARK(BM_GenericHashPartitionedJson)->Arg(4096);
BENCHMARK(BM_BidsDecodeJson)->Arg(4096);
BENCHMARK(BM_BidsDecodeColumnar)->Arg(4096);
BENCHMARK(BM_GenericDecodeJson)->Arg(4096);
BENCHMARK(BM_GenericDecodeColumnar)->Arg(4096);
BENCHMARK(BM_BidsReduceColumnar)->Arg(4096);
BENCHMARK(BM_Q0HashPartitionedStringKey)->Arg(4096);
BENCHMARK(BM_JsonParseOnlyCount)->Arg(4096);
BENCHMARK(BM_JsonReduceCount)->Arg(4096);
BENCHMARK(BM_JsonReduceJsonLines)->Arg(4096);
BENCHMARK(BM_BidsNoEncoding)->Arg(4096);
BENCHMARK(BM_BidsJsonStringify)->Arg(4096);
BENCHMARK(BM_BidsShapeEncoder)->Arg(4096);

}  // namespace
}  // namespace sluice::js

BENCHMARK_MAIN();
