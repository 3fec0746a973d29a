#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "worker/io/source.h"

namespace sluice::kafka {

// What the source and the sink share about librdkafka: owning handles, configuration, how
// errors are worded, and the backoff between retries.

struct KafkaDeleter {
  void operator()(rd_kafka_t* handle) const { rd_kafka_destroy(handle); }
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
  void operator()(rd_kafka_topic_partition_list_t* list) const {
    rd_kafka_topic_partition_list_destroy(list);
  }
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
  void operator()(const rd_kafka_metadata_t* metadata) const {
    rd_kafka_metadata_destroy(metadata);
  }
};
using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, KafkaDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaMetadata = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;

// Called by librdkafka with errors about the whole client (brokers down, fatal errors), from
// inside rd_kafka_poll / consume calls on the caller's thread.
class ClientErrorListener {
 public:
  virtual ~ClientErrorListener() = default;
  virtual void OnClientError(rd_kafka_resp_err_t error, const std::string& reason) = 0;
  // librdkafka's statistics (JSON, every statistics.interval.ms when that is set), from the same
  // calls. Ignored unless a listener wants them.
  virtual void OnClientStats(std::string_view json) { static_cast<void>(json); }
};

// From a client's statistics JSON: whether any broker it knows (not its internal one) is
// connected ("UP"); nullopt when the text is not statistics.
std::optional<bool> AnyBrokerUp(std::string_view stats_json);

// Makes a client: `defaults` first, then the user's `properties` (which may override them), then
// bootstrap.servers. librdkafka's log lines go to the debug log (problems reach the user through
// ConnectorHealth and Statuses instead); errors go to `listener`, which must outlive the client.
// A property librdkafka refuses is a user error naming the operator and the property.
Result<KafkaHandle> MakeClient(rd_kafka_type_t type, const std::string& brokers,
                               const std::map<std::string, std::string>& defaults,
                               const std::map<std::string, std::string>& properties,
                               ClientErrorListener* listener, const std::string& operator_label,
                               void (*delivery_report)(rd_kafka_t*, const rd_kafka_message_t*,
                                                       void*) = nullptr);

// Errors that say the brokers cannot be reached (yet): worth retrying, not failing for.
bool IsTransportError(rd_kafka_resp_err_t error);

// "operator 'in' (op1): kafka 127.0.0.1:9092: <what>"
std::string EndpointProblem(const std::string& operator_label, const std::string& brokers,
                            const std::string& what);

// Exponential backoff for retry loops: 100 ms doubling up to 5 s; Wait() sleeps through the
// task's CancelSignal so that a cancelled task stops at once.
class Backoff {
 public:
  explicit Backoff(runtime::CancelSignal* cancel) : cancel_(cancel) {}
  std::chrono::milliseconds next() const { return delay_; }
  // Sleeps for the current delay and doubles it; false when cancelled.
  bool Wait();
  void Reset() { delay_ = kInitial; }

 private:
  static constexpr std::chrono::milliseconds kInitial{100};
  static constexpr std::chrono::milliseconds kMax{5000};
  runtime::CancelSignal* cancel_;
  std::chrono::milliseconds delay_ = kInitial;
};

}  // namespace sluice::kafka
