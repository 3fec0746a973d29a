#include "connectors/kafka/kafka_client.h"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include <thread>

namespace sluice::kafka {
namespace {

void LogToSpdlog(const rd_kafka_t* handle, int level, const char* facility, const char* message) {
  spdlog::debug("librdkafka {} [{}] {}: {}", rd_kafka_name(handle), level, facility, message);
}

void ForwardError(rd_kafka_t* handle, int error, const char* reason, void* opaque) {
  if (opaque == nullptr) return;
  static_cast<ClientErrorListener*>(opaque)->OnClientError(static_cast<rd_kafka_resp_err_t>(error),
                                                           reason != nullptr ? reason : "");
}

int ForwardStats(rd_kafka_t* handle, char* json, size_t size, void* opaque) {
  if (opaque != nullptr) {
    static_cast<ClientErrorListener*>(opaque)->OnClientStats(std::string_view(json, size));
  }
  return 0;  // librdkafka frees the text
}

}  // namespace

std::optional<bool> AnyBrokerUp(std::string_view stats_json) {
  const nlohmann::json stats = nlohmann::json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (!stats.is_object()) return std::nullopt;
  auto brokers = stats.find("brokers");
  if (brokers == stats.end() || !brokers->is_object()) return std::nullopt;
  for (const auto& [name, broker] : brokers->items()) {
    if (!broker.is_object()) continue;
    if (broker.value("source", "") == "internal") continue;
    if (broker.value("state", "") == "UP") return true;
  }
  return false;
}

Result<KafkaHandle> MakeClient(rd_kafka_type_t type, const std::string& brokers,
                               const std::map<std::string, std::string>& defaults,
                               const std::map<std::string, std::string>& properties,
                               ClientErrorListener* listener, const std::string& operator_label,
                               void (*delivery_report)(rd_kafka_t*, const rd_kafka_message_t*,
                                                       void*)) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char error[512];
  const auto set = [&](const std::string& name, const std::string& value) -> Status {
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error, sizeof(error)) !=
        RD_KAFKA_CONF_OK) {
      return Status::User(operator_label + ": Kafka property \"" + name + "\" = \"" + value +
                          "\": " + error);
    }
    return Status::Ok();
  };
  Status status = Status::Ok();
  for (const auto& [name, value] : defaults) {
    if (status.ok()) status = set(name, value);
  }
  for (const auto& [name, value] : properties) {
    if (status.ok()) status = set(name, value);
  }
  if (status.ok()) status = set("bootstrap.servers", brokers);
  if (!status.ok()) {
    rd_kafka_conf_destroy(conf);
    return status;
  }
  rd_kafka_conf_set_log_cb(conf, &LogToSpdlog);
  rd_kafka_conf_set_error_cb(conf, &ForwardError);
  rd_kafka_conf_set_stats_cb(conf, &ForwardStats);
  rd_kafka_conf_set_opaque(conf, listener);
  if (delivery_report != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, delivery_report);
  rd_kafka_t* handle = rd_kafka_new(type, conf, error, sizeof(error));
  if (handle == nullptr) {  // rd_kafka_new keeps `conf` only when it succeeds
    rd_kafka_conf_destroy(conf);
    return Status::User(operator_label + ": cannot make a Kafka " +
                        (type == RD_KAFKA_CONSUMER ? "consumer" : "producer") + ": " + error);
  }
  return KafkaHandle(handle);
}

bool IsTransportError(rd_kafka_resp_err_t error) {
  switch (error) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR__NODE_UPDATE:
      return true;
    default:
      return false;
  }
}

std::string EndpointProblem(const std::string& operator_label, const std::string& brokers,
                            const std::string& what) {
  return operator_label + ": kafka " + brokers + ": " + what;
}

bool Backoff::Wait() {
  const auto deadline = std::chrono::steady_clock::now() + delay_;
  delay_ = std::min(delay_ * 2, kMax);
  if (cancel_ == nullptr) {
    std::this_thread::sleep_until(deadline);
    return true;
  }
  return cancel_->SleepUntil(deadline);
}

}  // namespace sluice::kafka
