#include "worker/runtime/exchange_io.h"

namespace sluice::runtime {

Result<std::optional<js::BatchResult>> InboxSource::Next(js::ChainRunner& chain) {
  std::optional<exchange::Batch> batch = inbox_->Pop();
  if (!batch.has_value()) return std::optional<js::BatchResult>();
  auto result = chain.RunText(batch->data);
  if (!result.ok()) return result.status();
  return std::optional<js::BatchResult>(std::move(result).value());
}

Status ExchangeSink::Write(const js::BatchResult& batch) {
  for (size_t route = 0; route < senders_.size() && route < batch.partitions.size(); ++route) {
    const auto& parts = batch.partitions[route];
    for (size_t target = 0; target < senders_[route].size() && target < parts.size(); ++target) {
      if (parts[target].empty()) continue;
      SLUICE_RETURN_IF_ERROR(senders_[route][target]->Send(exchange::Batch{parts[target], 0}));
    }
  }
  return Status::Ok();
}

Status ExchangeSink::Finish() {
  for (auto& route : senders_) {
    for (auto& sender : route) SLUICE_RETURN_IF_ERROR(sender->Finish());
  }
  return Status::Ok();
}

void ExchangeSink::Cancel() {
  for (auto& route : senders_) {
    for (auto& sender : route) sender->Cancel();
  }
}

uint64_t ExchangeSink::bytes_sent() const {
  uint64_t total = 0;
  for (const auto& route : senders_) {
    for (const auto& sender : route) total += sender->bytes_sent();
  }
  return total;
}

Result<std::unique_ptr<ExchangeSink>> ExchangeSink::Connect(
    const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes,
    exchange::Router& router, const std::string& self_address, const std::string& label) {
  auto sink = std::unique_ptr<ExchangeSink>(new ExchangeSink());
  for (const proto::OutputRoute& route : routes) {
    auto& senders = sink->senders_.emplace_back();
    for (int t = 0; t < route.target_task_ids_size(); ++t) {
      TaskId target(route.target_task_ids(t));
      const std::string& address = route.target_addresses(t);
      auto sender = address == self_address
                        ? exchange::ConnectLocal(router, target, route.channel())
                        : exchange::ConnectRemote(address, target, route.channel());
      if (!sender.ok()) {
        return Status(sender.status().code(), sender.status().domain(),
                      label + ": " + sender.status().message(), sender.status().retryable());
      }
      senders.push_back(std::move(sender).value());
    }
  }
  return sink;
}

std::vector<js::PartitionSpec> PartitionSpecs(
    const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes, uint32_t subtask,
    uint32_t max_parallelism) {
  std::vector<js::PartitionSpec> specs;
  for (const proto::OutputRoute& route : routes) {
    js::PartitionSpec spec;
    switch (route.partitioning()) {
      case proto::HASH: spec.partitioning = js::Partitioning::kHash; break;
      case proto::REBALANCE: spec.partitioning = js::Partitioning::kRebalance; break;
      case proto::BROADCAST: spec.partitioning = js::Partitioning::kBroadcast; break;
      default: spec.partitioning = js::Partitioning::kForward; break;
    }
    spec.targets = static_cast<uint32_t>(route.target_task_ids_size());
    spec.subtask = subtask;
    spec.max_parallelism = max_parallelism;
    spec.key_fn = route.key_fn();
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace sluice::runtime
