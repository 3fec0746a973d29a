#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/common/exactly_once.h"
#include "connectors/common/pending_epochs.h"
#include "connectors/common/retry.h"
#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_records.h"
#include "worker/js/js_engine.h"
#include "worker/io/sink.h"

namespace sluice::kafka {

// sink.kafka: produces what the sink's JS stages (KafkaSinkStages) made of each record — key,
// value, partition — to one topic.
//
// At-least-once (the default): Write() hands the batch's messages to librdkafka, which batches
// them per partition, retries and reconnects by itself (the producer is idempotent, so its
// retries add no duplicates, and messages wait for as long as the brokers are away:
// message.timeout.ms = 0); while its queue is full Write() waits for deliveries
// (backpressure). Delivery reports are served on every Write(): a message the brokers refused
// fails the task with the first error. Finish() waits until every message is acknowledged.
// Broker outages are reported through SinkContext::health until a delivery succeeds again.
//
// Exactly-once: the protocol is connectors::ExactlyOnceProtocol (Write() only checks and
// buffers; at barrier n the uncommitted epochs go to a file in the checkpoint); this sink is its
// EpochStore: once checkpoint n completed each epoch up to n is one Kafka transaction of a transactional producer (transactional.id from the sink id): its
// messages and its commit marker (kafka_sink_markers.h), committed together. A failed
// transaction is aborted and written again; a commit that timed out is retried. Restore()
// fences the producers of the old subtasks, reads their markers and commits what they left.
//
// Created and used on the task thread; Cancel() may come from any thread. Owned by the task.
class KafkaSink : public runtime::BatchSink, private connectors::EpochStore {
 public:
  static Result<std::unique_ptr<KafkaSink>> Create(KafkaSinkConfig config,
                                                   const runtime::SinkContext& context,
                                                   connectors::Backoff backoff = {});
  ~KafkaSink() override;

  Status Write(const js::BatchResult& batch) override;
  // Exactly-once: commits what is buffered as the epoch after the last barrier's, with its
  // marker even when empty, so a restore from an earlier checkpoint drops what it makes again.
  Status Finish() override;
  void Cancel() override;

  Result<std::string> PrepareCommit(uint64_t checkpoint, const std::string& directory) override;
  Status CommitCheckpoint(uint64_t checkpoint) override;
  // Fences the old subtasks' producers, commits each prepared epoch its sink's marker does not
  // cover, then goes on after `checkpoint`; when this sink's own marker is past `checkpoint`
  // (it had finished), its output from now on is dropped.
  Status Restore(uint64_t checkpoint, const std::vector<std::string>& prepared) override;

  // Data messages acknowledged (exactly-once: in committed transactions, markers not counted).
  uint64_t delivered() const { return delivered_; }
  // Exactly-once: transactions committed and aborted so far.
  uint64_t commits() const { return commits_; }
  uint64_t aborts() const { return aborts_; }

 private:
  class Listener;
  // Where the exactly-once producer's transaction stands.
  enum class Transaction { kNone, kOpen, kMustAbort };

  KafkaSink(KafkaSinkConfig config, const runtime::SinkContext& context,
            connectors::Backoff backoff);
  bool exactly_once() const { return config_.guarantee == connectors::Guarantee::kExactlyOnce; }
  Status Produce(rd_kafka_topic_t* topic, const OutgoingMessage& message);
  // Serves delivery reports and errors for up to `timeout_ms`; the first failure, if any.
  Status Serve(int timeout_ms);
  void OnDelivery(const rd_kafka_message_t& message);
  void ReportProblem(const std::string& what);
  void ReportHealthy();

  // Exactly-once.
  Status InitTransactions();
  // EpochStore. Start: the transactional producer (retried). Check: the lines parse.
  // CommitEpoch: one epoch of `sink_id` in a transaction with its marker, retrying until it went
  // through (nothing when the known marker covers it). ReadMarkers: into markers_ too,
  // retrying. FenceOld: the old subtasks' producers.
  Status Start() override;
  Status Check(std::string_view json_lines) override;
  Status CommitEpoch(const std::string& sink_id, const connectors::Epoch& epoch) override;
  Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) override;
  Status FenceOld(const std::vector<std::string>& old_sink_ids) override;
  // One attempt of that: aborts a failed transaction first, or retries a commit that timed out.
  Status TryCommit(const std::string& sink_id, uint64_t epoch,
                   const std::vector<OutgoingMessage>& messages);
  // Parses JSON lines into messages (when `messages` is not null); errors name the operator.
  Status ParseLines(std::string_view lines, std::vector<OutgoingMessage>* messages) const;

  KafkaSinkConfig config_;
  runtime::SinkContext context_;
  std::unique_ptr<Listener> listener_;
  KafkaHandle producer_;
  KafkaTopic topic_;
  std::atomic<bool> cancelled_{false};
  Status failure_ = Status::Ok();  // the first delivery failure or fatal error
  uint64_t undelivered_ = 0;
  uint64_t delivered_ = 0;
  bool unhealthy_ = false;

  // Exactly-once.
  connectors::ExactlyOnceProtocol exactly_once_;
  connectors::CancellableSleeper sleeper_;
  connectors::Retrier retrier_;
  KafkaTopic commit_topic_;
  bool initialized_ = false;  // init_transactions went through
  Transaction transaction_ = Transaction::kNone;
  uint64_t in_transaction_ = 0;              // data messages produced in the open transaction
  Status delivery_error_ = Status::Ok();     // a message the open transaction could not deliver
  std::map<std::string, uint64_t> markers_;  // the committed epoch of each sink id, as known
  uint64_t commits_ = 0;
  uint64_t aborts_ = 0;
};

// MakeSink's entry for "sink.kafka".
Result<std::unique_ptr<runtime::BatchSink>> MakeKafkaSink(const std::string& config_json,
                                                          const runtime::SinkContext& context);

// The JS stages that run a sink.kafka operator's functions at the end of its chain, so that the
// sink gets one line per record, `{"k": key, "v": value, "p": partition}` (see
// ParseOutgoingLine): one map stage per function given ("key", "value", "partition"; each
// function keeps its own script, so error lines are the function's own), then one that builds
// the line's object. Without a value function the value is the record itself. The stages carry
// the sink operator's id and name, so their errors name it.
std::vector<js::StageSpec> KafkaSinkStages(const std::string& operator_id,
                                           const std::string& operator_name,
                                           const std::map<std::string, std::string>& functions);

}  // namespace sluice::kafka
