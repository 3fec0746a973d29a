#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/common/guarantee.h"
#include "connectors/common/retry.h"

namespace sluice::kafka {

// The configs of `source.kafka` and `sink.kafka` (operator config_json), parsed and checked.
// The coordinator checks a submitted job with the same functions the worker parses with, so the
// two never disagree. Pure: no I/O, no librdkafka.

// How a source turns a Kafka message into a record (see README.md, "Records").
enum class RecordFormat {
  kString,  // the value as a string (UTF-8; invalid bytes become U+FFFD)
  kJson,    // the value JSON.parse'd
  kBytes,   // { key, value, headers, timestamp, topic, partition, offset }
};

// Where a source starts in each of its partitions.
enum class StartKind { kEarliest, kLatest, kTimestamp };

struct StartPosition {
  StartKind kind = StartKind::kEarliest;
  int64_t timestamp_ms = 0;  // with kTimestamp: the first record at or after this time
};

// Event time from the messages' timestamps, and watermarks per partition (config "watermarks").
struct SourceWatermarks {
  int64_t max_out_of_orderness_ms = 0;     // how far behind its greatest timestamp a partition's
                                           // watermark stays (and 1 ms more, as assign_timestamps)
  std::optional<int64_t> idle_timeout_ms;  // a partition without messages this long is idle
};

struct KafkaSourceConfig {
  std::string brokers;              // bootstrap servers, "host:port,host:port"
  std::vector<std::string> topics;  // sorted, without duplicates
  RecordFormat format = RecordFormat::kString;
  StartPosition start;
  bool bounded = false;  // stop at each partition's end offset as of the job's start
  std::optional<SourceWatermarks> watermarks;  // none: records carry no event time
  // librdkafka consumer properties passed through (security, fetch sizes, ...), as strings.
  std::map<std::string, std::string> properties;
  // "retryAttempts", "retryTimeoutMs": how long connecting (metadata, offsets) may fail.
  connectors::RetryBudget retry;
};

struct KafkaSinkConfig {
  std::string brokers;
  std::string topic;
  connectors::Guarantee guarantee = connectors::Guarantee::kAtLeastOnce;  // "guarantee"
  // "commitTopic": with exactly-once, the topic of the commit markers (compacted, created by
  // the user): each epoch's transaction writes key = sink id, value = the epoch.
  std::string commit_topic = "sluice-commits";
  // librdkafka producer properties passed through (acks, compression, ...), as strings.
  std::map<std::string, std::string> properties;
  // "retryAttempts", "retryTimeoutMs": the transactional calls' retries (exactly-once); the
  // time also bounds an undelivered message (message.timeout.ms) with at-least-once.
  connectors::RetryBudget retry;
};

// Checks a source config. Every problem found is appended to `problems` as a phrase that can
// follow an operator's label, e.g. `: config field "topics" must be a non-empty array of topic
// names`. The result is meaningful only when no problem was added.
KafkaSourceConfig ParseSourceConfig(const nlohmann::json& config,
                                    std::vector<std::string>* problems);
KafkaSinkConfig ParseSinkConfig(const nlohmann::json& config, std::vector<std::string>* problems);

// The same from config_json, for the worker: a user error naming `operator_label` and every
// problem.
Result<KafkaSourceConfig> SourceConfigFromJson(const std::string& config_json,
                                               const std::string& operator_label);
Result<KafkaSinkConfig> SinkConfigFromJson(const std::string& config_json,
                                           const std::string& operator_label);

// One partition of one topic.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  auto operator<=>(const TopicPartition&) const = default;
  std::string ToString() const;  // "topic[3]"
};

// A position in a partition: the offset of the next record to read. A strong type so that an
// offset is not mixed up with a partition number or a count.
class KafkaOffset {
 public:
  constexpr KafkaOffset() = default;
  constexpr explicit KafkaOffset(int64_t value) : value_(value) {}
  constexpr int64_t value() const { return value_; }
  auto operator<=>(const KafkaOffset&) const = default;

 private:
  int64_t value_ = 0;
};

using PartitionOffsets = std::map<TopicPartition, KafkaOffset>;

// The partitions of `topics` (name -> partition count) that subtask `subtask` of `parallelism`
// reads: every partition of every topic, ordered by topic name and then partition number, dealt
// round robin (the i-th goes to subtask i mod parallelism). Deterministic: every subtask
// computes the same split without talking to the others or to a consumer group.
std::vector<TopicPartition> AssignPartitions(const std::map<std::string, int32_t>& topics,
                                             uint32_t subtask, uint32_t parallelism);

}  // namespace sluice::kafka
