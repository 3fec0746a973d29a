#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/worker_service.pb.h"
#include "worker/exchange/exchange.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/source_driver.h"

namespace sluice::runtime {

// The input of a task fed by upstream tasks: pops batches (JSON lines) from the task's inbox and
// runs each through the chain. Ends when every upstream channel has ended. Created and used on
// the task thread; Cancel() (any thread) closes the inbox, which wakes a waiting Pop.
class InboxSource : public SourceDriver {
 public:
  explicit InboxSource(std::shared_ptr<exchange::Inbox> inbox) : inbox_(std::move(inbox)) {}
  Result<std::optional<js::BatchResult>> Next(js::ChainRunner& chain) override;
  void Cancel() override { inbox_->Close(); }

 private:
  std::shared_ptr<exchange::Inbox> inbox_;
};

// The end of a chain that feeds other tasks: the chain partitions its records per outgoing
// edge and downstream subtask; each non-empty partition goes down its channel (local inbox or
// a gRPC stream to another worker), blocking while the receiver has no room. Created on the
// task thread (connecting every channel); Cancel() may come from any thread.
class ExchangeSink : public BatchSink {
 public:
  js::OutputMode output_mode() const override { return js::OutputMode::kPartitioned; }
  Status Write(const js::BatchResult& batch) override;
  // Sends end-of-stream on every channel.
  Status Finish() override;
  void Cancel() override;
  uint64_t bytes_sent() const;

  // Connects a channel to every target of every route; targets at `self_address` are local.
  static Result<std::unique_ptr<ExchangeSink>> Connect(
      const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes,
      exchange::Router& router, const std::string& self_address, const std::string& label);

 private:
  std::vector<std::vector<std::unique_ptr<exchange::Sender>>> senders_;  // [route][target]
};

// The chain's partitioning for each route, for js::ChainSpec::outputs.
std::vector<js::PartitionSpec> PartitionSpecs(
    const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes, uint32_t subtask,
    uint32_t max_parallelism);

}  // namespace sluice::runtime
