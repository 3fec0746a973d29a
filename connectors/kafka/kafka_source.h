#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_config.h"
#include "worker/runtime/source_driver.h"

namespace sluice::kafka {

// source.kafka: reads the partitions Sluice assigns to this subtask (AssignPartitions; no
// consumer group, no rebalancing) and hands each batch of messages to the chain as JSON lines.
//
// The first Next() connects: it looks the topics up, resolves each partition's start offset
// (explicit offsets from Create, else the config's startFrom) and, when bounded, its end offset
// as of then; while the brokers cannot be reached it retries with backoff and says so through
// SourceContext::health. Later broker outages are retried by librdkafka and reported the same
// way; they never fail the task.
//
// Created and used on the task thread (Next, next_offsets); Cancel() may come from any thread.
// Owned by the task.
class KafkaSource : public runtime::SourceDriver {
 public:
  // `start_offsets` overrides startFrom for the partitions it names (a restored checkpoint);
  // partitions it does not name start per startFrom.
  static Result<std::unique_ptr<KafkaSource>> Create(KafkaSourceConfig config,
                                                     const runtime::SourceContext& context,
                                                     PartitionOffsets start_offsets = {});
  ~KafkaSource() override;

  Result<std::optional<js::BatchResult>> Next(js::ChainRunner& chain) override;
  void Cancel() override;

  // For each assigned partition, the offset of the next record to read: every record before it
  // has gone into a batch that Next() returned. Empty until the first Next() has connected.
  // What a checkpoint stores; Create(..., next_offsets()) resumes from there.
  const PartitionOffsets& next_offsets() const { return next_offsets_; }
  // The partitions this subtask reads (after connecting).
  const std::vector<TopicPartition>& assignment() const { return assignment_; }

 private:
  struct PartitionState;
  class ErrorListener;

  KafkaSource(KafkaSourceConfig config, const runtime::SourceContext& context,
              PartitionOffsets start_offsets);

  Status Connect();
  Result<std::map<std::string, int32_t>> FetchPartitionCounts();
  Status ResolveOffsets();
  Status ResolveTimestampStart(int64_t low, int64_t high, PartitionState* state);
  Status Assign();
  // Runs a librdkafka call that needs the brokers until it stops failing with a transport
  // error, backing off and reporting to health meanwhile.
  Status Retry(const std::string& what, const std::function<rd_kafka_resp_err_t()>& call);

  // Adds one message to the batch; false when it was dropped (past the end of a bounded
  // partition, before the start timestamp).
  Result<bool> Take(const rd_kafka_message_t& message, std::string* text);
  void OnMessageError(const rd_kafka_message_t& message);
  void ReportProblem(const std::string& what);
  void ReportHealthy();
  void ProbeHealth();
  bool AllDone() const;
  Status RunBatch(js::ChainRunner& chain, const std::string& text, js::BatchResult* result);
  Status LocateBadJson(const std::string& text, const Status& error) const;

  KafkaSourceConfig config_;
  runtime::SourceContext context_;
  PartitionOffsets start_offsets_;
  std::unique_ptr<ErrorListener> listener_;
  KafkaHandle consumer_;
  KafkaQueue queue_;
  std::atomic<rd_kafka_queue_t*> wake_{nullptr};  // queue_ for Cancel()
  bool connected_ = false;
  std::vector<TopicPartition> assignment_;
  std::vector<PartitionState> partitions_;  // same order as assignment_
  PartitionOffsets next_offsets_;
  std::vector<std::pair<size_t, int64_t>> line_origins_;  // "json": (partition index, offset)
  bool unhealthy_ = false;
  std::chrono::steady_clock::time_point last_probe_;
};

// MakeSourceDriver's entry for "source.kafka".
Result<std::unique_ptr<runtime::SourceDriver>> MakeKafkaSource(
    const std::string& config_json, const runtime::SourceContext& context);

}  // namespace sluice::kafka
