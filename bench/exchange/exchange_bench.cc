// Throughput of the exchange: 64 KiB batches from one sender to a consumer that pops as fast
// as it can, in one process; remote over a loopback gRPC stream, and local.
#include <benchmark/benchmark.h>

#include <thread>

#include "common/grpc_util.h"
#include "worker/exchange/exchange.h"
#include "worker/exchange/exchange_service.h"

namespace sluice::exchange {
namespace {

constexpr size_t kBatchBytes = 64 * 1024;
constexpr size_t kInboxCapacity = 8;

// Runs one channel of `state.iterations()` batches into a fresh inbox drained by a popping
// thread, with the sender `connect` makes.
template <typename Connect>
void Transfer(benchmark::State& state, Router& router, Connect connect) {
  static int run = 0;
  TaskId task("bench/recv." + std::to_string(run++));
  auto inbox = std::make_shared<Inbox>(task, 1, kInboxCapacity);
  router.Register(inbox);
  uint64_t popped_bytes = 0;
  std::thread consumer([&] {
    while (true) {
      InboxItem item = inbox->Next(std::chrono::steady_clock::time_point::max());
      if (item.kind == InboxItem::Kind::kDone) break;
      if (item.kind == InboxItem::Kind::kBatch) popped_bytes += item.batch.data.size();
    }
  });
  Result<std::unique_ptr<Sender>> sender = connect(task);
  if (!sender.ok()) {
    state.SkipWithError(sender.status().message().c_str());
    inbox->Close();
    consumer.join();
    return;
  }
  const std::string payload(kBatchBytes, 'x');
  for (auto _ : state) {
    Batch batch;
    batch.data = payload;
    batch.records = 1;
    Status status = (*sender)->Send(std::move(batch));
    if (!status.ok()) {
      state.SkipWithError(status.message().c_str());
      break;
    }
  }
  Status finished = (*sender)->Finish();
  if (!finished.ok()) state.SkipWithError(finished.message().c_str());
  consumer.join();  // every batch popped
  router.Unregister(task);
  state.SetBytesProcessed(static_cast<int64_t>(popped_bytes));
  state.SetItemsProcessed(state.iterations());
  state.counters["batches/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_LocalTransfer64KiB(benchmark::State& state) {
  Router router;
  Transfer(state, router, [&](const TaskId& task) { return ConnectLocal(router, task, 0); });
}
BENCHMARK(BM_LocalTransfer64KiB)->UseRealTime();

void BM_RemoteTransfer64KiB(benchmark::State& state) {
  Router router;
  ExchangeServiceOptions options;
  options.initial_credits = static_cast<uint32_t>(state.range(0));
  ExchangeServiceImpl service(router, options);
  Result<StartedServer> server = StartServer("127.0.0.1:0", {&service}, "worker");
  if (!server.ok()) {
    state.SkipWithError(server.status().message().c_str());
    return;
  }
  PeerConnections peers;
  Transfer(state, router,
           [&](const TaskId& task) { return ConnectRemote(peers, server->address, task, 0); });
  peers.Shutdown();
  service.Shutdown();
  server->server->Shutdown();
}
BENCHMARK(BM_RemoteTransfer64KiB)->Arg(2)->Arg(4)->Arg(16)->ArgName("credits")->UseRealTime();

}  // namespace
}  // namespace sluice::exchange

BENCHMARK_MAIN();
