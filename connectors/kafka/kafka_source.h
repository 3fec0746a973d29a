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
#include "connectors/kafka/partition_watermarks.h"
#include "worker/io/source.h"
#include "worker/js/event_times.h"

namespace sluice::kafka {

// source.kafka: reads the partitions Sluice assigns to this subtask (AssignPartitions; no
// consumer group, no rebalancing) and hands each batch of messages to the chain as JSON lines.
//
// The first Next() connects: it looks the topics up, resolves each partition's start offset
// (explicit offsets from Create, else the config's startFrom) and, when bounded, its end offset
// as of then; while the brokers cannot be reached it retries with backoff and says so through
// SourceContext::health. Later broker outages are retried by librdkafka and reported the same
// way, each problem it reports counting against the same retry budget ("retry"); when a run of
// problems spends it (by default, brokers unreachable for 60 s) Next() fails the task, naming the
// brokers, the budget and the last error. The outage ends with any message, or with the client's
// statistics (every second) showing a broker connected again, so an idle topic recovers too.
//
// With "watermarks" each record carries its message's timestamp as its event time (a times line
// ahead of the batch's JSON lines, which the chain reads) and the chain's watermark follows the
// partitions' (PartitionWatermarks): when it advances, the next Next() moves the chain's time on
// (ChainRunner::AdvanceTime) and returns what that fired. When every partition is idle (or the
// subtask has none) the batch says the source is idle, so it does not hold back the operators
// downstream; a record ends that.
//
// Checkpoints: Position() is next_offsets() as JSON (kafka_positions.h); MakeKafkaSource merges
// the positions of every old subtask and each partition starts at its stored offset.
//
// Created and used on the task thread (Next, next_offsets, Position); Cancel() may come from any
// thread. Owned by the task.
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
  // The next offsets as JSON; before connecting, the offsets it was given to start from.
  std::string Position() const override;
  // Where idleness is measured from; steady_clock::now by default. For tests.
  void SetClockForTesting(std::function<std::chrono::steady_clock::time_point()> now) {
    now_ = std::move(now);
  }

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
  // The task's failure once an outage spent the retry budget; Ok otherwise.
  Status CheckOutage();
  bool AllDone() const;
  // With watermarks: moves the chain's time on when the partitions' watermark advanced, and
  // reports a change of idleness; nullopt when neither happened.
  Result<std::optional<js::BatchResult>> MoveTime(js::ChainRunner& chain);
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
  std::function<std::chrono::steady_clock::time_point()> now_ = std::chrono::steady_clock::now;
  std::optional<PartitionWatermarks> watermarks_;  // with config "watermarks", once connected
  js::EventTimes times_;  // the batch's event times so far
  int64_t watermark_ = js::kMinWatermark;  // the last one the chain was given
  bool idle_ = false;                      // the idleness last reported
  bool unhealthy_ = false;
  connectors::RetryAllowance outage_;  // the current outage's problems, once connected
  bool outage_spent_ = false;          // its attempts ran out
  std::string last_problem_;
};

// MakeSourceDriver's entry for "source.kafka".
Result<std::unique_ptr<runtime::SourceDriver>> MakeKafkaSource(
    const std::string& config_json, const runtime::SourceContext& context);

}  // namespace sluice::kafka
