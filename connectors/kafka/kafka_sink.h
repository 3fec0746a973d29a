#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_client.h"
#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_records.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/batch_sink.h"

namespace sluice::kafka {

// sink.kafka: produces what the sink's JS stages (KafkaSinkStages) made of each record — key,
// value, partition — to one topic, at least once.
//
// Write() hands the batch's messages to librdkafka, which batches them per partition, retries
// and reconnects by itself (the producer is idempotent, so its retries add no duplicates, and
// messages wait for as long as the brokers are away: message.timeout.ms = 0); while its queue
// is full Write() waits for deliveries (backpressure). Delivery reports are served on every
// Write(): a message the brokers refused fails the task with the first error. Finish() waits
// until every message is acknowledged. Broker outages are reported through SinkContext::health
// until a delivery succeeds again.
//
// A transactional mode (commit on checkpoint) fits around this: begin a transaction before the
// first Write() after a checkpoint, flush and commit when the checkpoint completes; the config
// keeps "transactional.id" for it.
//
// Created and used on the task thread; Cancel() may come from any thread. Owned by the task.
class KafkaSink : public runtime::BatchSink {
 public:
  static Result<std::unique_ptr<KafkaSink>> Create(KafkaSinkConfig config,
                                                   const runtime::SinkContext& context);
  ~KafkaSink() override;

  Status Write(const js::BatchResult& batch) override;
  Status Finish() override;
  void Cancel() override { cancelled_ = true; }

  uint64_t delivered() const { return delivered_; }

 private:
  class Listener;

  KafkaSink(KafkaSinkConfig config, const runtime::SinkContext& context);
  Status Produce(const OutgoingMessage& message);
  // Serves delivery reports and errors for up to `timeout_ms`; the first failure, if any.
  Status Serve(int timeout_ms);
  void OnDelivery(const rd_kafka_message_t& message);
  void ReportProblem(const std::string& what);
  void ReportHealthy();

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
