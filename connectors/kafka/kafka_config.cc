#include "connectors/kafka/kafka_config.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>

namespace sluice::kafka {
namespace {

using nlohmann::json;

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Collects the problems of one config, each phrased to follow the operator's label.
class Checker {
 public:
  Checker(const json& config, std::string kind, std::vector<std::string>* problems)
      : config_(config), kind_(std::move(kind)), problems_(problems) {}

  void Problem(const std::string& message) { problems_->push_back(": " + message); }

  // Unknown fields are problems; `accepted` lists the kind's fields.
  void OnlyFields(const std::vector<std::string>& accepted) {
    std::string list;
    for (const auto& name : accepted) list += (list.empty() ? "" : ", ") + name;
    for (const auto& [key, value] : config_.items()) {
      if (std::find(accepted.begin(), accepted.end(), key) == accepted.end()) {
        Problem("unknown config field " + Quote(key) + " for kind " + Quote(kind_) +
                " (accepted: " + list + ")");
      }
    }
  }

  const json* Field(const std::string& name, bool required, const std::string& expected) {
    auto it = config_.find(name);
    if (it == config_.end()) {
      if (required) {
        Problem("config field " + Quote(name) + " is required for kind " + Quote(kind_) + " (" +
                expected + ")");
      }
      return nullptr;
    }
    return &*it;
  }

  void Bad(const std::string& name, const std::string& expected, const json& value) {
    Problem("config field " + Quote(name) + " must be " + expected + ", got " + value.dump());
  }

  std::string Brokers() {
    const std::string expected = "a non-empty string of host:port pairs separated by commas";
    const json* value = Field("brokers", true, expected);
    if (value == nullptr) return "";
    if (!value->is_string() || !BrokersOk(value->get<std::string>())) {
      Bad("brokers", expected, *value);
      return "";
    }
    return value->get<std::string>();
  }

  std::map<std::string, std::string> Properties(const std::set<std::string>& reserved) {
    std::map<std::string, std::string> properties;
    const std::string expected =
        "an object of librdkafka properties (string, number or boolean values)";
    const json* value = Field("properties", false, expected);
    if (value == nullptr) return properties;
    if (!value->is_object()) {
      Bad("properties", expected, *value);
      return properties;
    }
    for (const auto& [key, item] : value->items()) {
      if (key.empty()) {
        Problem("config field \"properties\" has an empty property name");
      } else if (reserved.count(key) != 0) {
        Problem("property " + Quote(key) + " is set by Sluice and cannot be given in " +
                "\"properties\"" + (key == "bootstrap.servers" ? " (use \"brokers\")" : ""));
      } else if (item.is_string()) {
        properties[key] = item.get<std::string>();
      } else if (item.is_boolean()) {
        properties[key] = item.get<bool>() ? "true" : "false";
      } else if (item.is_number_integer() || item.is_number_unsigned()) {
        properties[key] = item.dump();
      } else if (item.is_number_float() && std::isfinite(item.get<double>())) {
        properties[key] = item.dump();
      } else {
        Problem("property " + Quote(key) + " must be a string, number or boolean, got " +
                item.dump());
      }
    }
    return properties;
  }

 private:
  // "host:port[,host:port...]", optionally with a "proto://" prefix per entry; a port, when
  // given, is 1..65535.
  static bool BrokersOk(const std::string& text) {
    if (text.empty()) return false;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find(',', start);
      if (end == std::string::npos) end = text.size();
      std::string entry = text.substr(start, end - start);
      entry.erase(0, entry.find_first_not_of(' '));
      entry.erase(entry.find_last_not_of(' ') + 1);
      if (!BrokerOk(entry)) return false;
      start = end + 1;
    }
    return true;
  }

  static bool BrokerOk(std::string entry) {
    size_t scheme = entry.find("://");
    if (scheme != std::string::npos) entry.erase(0, scheme + 3);
    if (entry.empty() || entry.find_first_of(" \t/") != std::string::npos) return false;
    size_t host_end = entry.size();
    if (entry.front() == '[') {  // [IPv6]:port
      host_end = entry.find(']');
      if (host_end == std::string::npos || host_end == 1) return false;
      ++host_end;
    } else {
      host_end = entry.rfind(':');
      if (host_end == std::string::npos) return true;  // host only: the default port
      if (host_end == 0) return false;
    }
    if (host_end == entry.size()) return true;
    if (entry[host_end] != ':') return false;
    std::string port = entry.substr(host_end + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit)) {
      return false;
    }
    int number = std::stoi(port);
    return number >= 1 && number <= 65535;
  }

  const json& config_;
  std::string kind_;
  std::vector<std::string>* problems_;
};

// Kafka's rule: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".
bool TopicNameOk(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

constexpr char kTopicRule[] = "1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-'";

StartPosition ParseStart(Checker& check, const json* value) {
  StartPosition start;
  if (value == nullptr) return start;
  const std::string expected =
      "\"earliest\", \"latest\" or { \"timestamp\": epoch milliseconds >= 0 }";
  if (value->is_string() && *value == "earliest") return start;
  if (value->is_string() && *value == "latest") {
    start.kind = StartKind::kLatest;
    return start;
  }
  if (value->is_object() && value->size() == 1 && value->contains("timestamp")) {
    const json& ts = (*value)["timestamp"];
    bool integral = ts.is_number_integer() || ts.is_number_unsigned() ||
                    (ts.is_number_float() && std::isfinite(ts.get<double>()) &&
                     std::floor(ts.get<double>()) == ts.get<double>());
    if (integral && ts.get<double>() >= 0 && ts.get<double>() < 9.2e18) {
      start.kind = StartKind::kTimestamp;
      start.timestamp_ms = static_cast<int64_t>(ts.get<double>());
      return start;
    }
  }
  check.Bad("startFrom", expected, *value);
  return start;
}

// A duration in milliseconds: an integer >= `min` (a float with an integral value too).
std::optional<int64_t> Millis(const json& value, int64_t min) {
  if (!value.is_number()) return std::nullopt;
  const double ms = value.get<double>();
  if (!std::isfinite(ms) || std::floor(ms) != ms || ms < static_cast<double>(min) || ms >= 9.2e18) {
    return std::nullopt;
  }
  return static_cast<int64_t>(ms);
}

std::optional<SourceWatermarks> ParseWatermarks(Checker& check, const json* value) {
  if (value == nullptr) return std::nullopt;
  const std::string expected =
      "{ \"maxOutOfOrderness\": milliseconds >= 0, \"idleTimeout\": milliseconds > 0 } "
      "(both optional)";
  if (!value->is_object()) {
    check.Bad("watermarks", expected, *value);
    return std::nullopt;
  }
  SourceWatermarks watermarks;
  for (const auto& [key, item] : value->items()) {
    if (key == "maxOutOfOrderness") {
      auto ms = Millis(item, 0);
      if (ms.has_value()) {
        watermarks.max_out_of_orderness_ms = *ms;
      } else {
        check.Bad("watermarks.maxOutOfOrderness", "an integer number of milliseconds >= 0", item);
      }
    } else if (key == "idleTimeout") {
      auto ms = Millis(item, 1);
      if (ms.has_value()) {
        watermarks.idle_timeout_ms = *ms;
      } else {
        check.Bad("watermarks.idleTimeout", "an integer number of milliseconds > 0", item);
      }
    } else {
      check.Problem("unknown field " + Quote(key) + " in config field \"watermarks\" (accepted: " +
                    "maxOutOfOrderness, idleTimeout)");
    }
  }
  return watermarks;
}

std::string JoinProblems(const std::string& label, const std::vector<std::string>& problems) {
  std::string message = label;
  for (size_t i = 0; i < problems.size(); ++i) {
    // Each problem starts with ": "; later ones are joined with "; ".
    message += i == 0 ? problems[i] : "; " + problems[i].substr(2);
  }
  return message;
}

// "retryAttempts" and "retryTimeoutMs", read as every connector reads them.
connectors::RetryBudget ReadRetry(const json& config, const std::string& kind,
                                  std::vector<std::string>* problems) {
  connectors::ConfigReader reader(config, kind);
  connectors::RetryBudget budget = connectors::ReadRetryBudget(reader);
  for (const std::string& problem : reader.problems()) problems->push_back(": " + problem);
  return budget;
}

json ParseJson(const std::string& config_json) {
  return json::parse(config_json.empty() ? "{}" : config_json, nullptr, false);
}

}  // namespace

KafkaSourceConfig ParseSourceConfig(const json& config, std::vector<std::string>* problems) {
  KafkaSourceConfig result;
  if (!config.is_object()) {
    problems->push_back(": config must be a JSON object");
    return result;
  }
  Checker check(config, "source.kafka", problems);
  check.OnlyFields(
      {"brokers", "topics", "format", "startFrom", "bounded", "watermarks", "properties",
       "retryAttempts", "retryTimeoutMs"});
  result.retry = ReadRetry(config, "source.kafka", problems);
  result.brokers = check.Brokers();

  const std::string topics_expected =
      std::string("a non-empty array of topic names (") + kTopicRule + ")";
  if (const json* topics = check.Field("topics", true, topics_expected)) {
    bool ok = topics->is_array() && !topics->empty();
    std::set<std::string> names;
    for (const json& topic : ok ? *topics : json::array()) {
      if (!topic.is_string() || !TopicNameOk(topic.get<std::string>())) {
        ok = false;
        break;
      }
      names.insert(topic.get<std::string>());
    }
    if (ok) {
      result.topics.assign(names.begin(), names.end());
    } else {
      check.Bad("topics", topics_expected, *topics);
    }
  }

  const std::string format_expected = "one of \"string\", \"json\", \"bytes\"";
  if (const json* format = check.Field("format", false, format_expected)) {
    if (*format == "string") {
      result.format = RecordFormat::kString;
    } else if (*format == "json") {
      result.format = RecordFormat::kJson;
    } else if (*format == "bytes") {
      result.format = RecordFormat::kBytes;
    } else {
      check.Bad("format", format_expected, *format);
    }
  }
  result.start = ParseStart(check, check.Field("startFrom", false, ""));
  if (const json* bounded = check.Field("bounded", false, "a boolean")) {
    if (bounded->is_boolean()) {
      result.bounded = bounded->get<bool>();
    } else {
      check.Bad("bounded", "a boolean", *bounded);
    }
  }
  result.watermarks = ParseWatermarks(check, check.Field("watermarks", false, ""));
  result.properties =
      check.Properties({"bootstrap.servers", "enable.auto.commit", "enable.auto.offset.store",
                        "enable.partition.eof", "auto.offset.reset"});
  return result;
}

KafkaSinkConfig ParseSinkConfig(const json& config, std::vector<std::string>* problems) {
  KafkaSinkConfig result;
  if (!config.is_object()) {
    problems->push_back(": config must be a JSON object");
    return result;
  }
  Checker check(config, "sink.kafka", problems);
  check.OnlyFields({"brokers", "topic", "guarantee", "commitTopic", "properties",
                    "retryAttempts", "retryTimeoutMs"});
  result.retry = ReadRetry(config, "sink.kafka", problems);
  result.brokers = check.Brokers();
  const std::string topic_expected = std::string("a topic name (") + kTopicRule + ")";
  for (const auto& [name, field] :
       {std::pair{"topic", &result.topic}, std::pair{"commitTopic", &result.commit_topic}}) {
    if (const json* topic = check.Field(name, name == std::string("topic"), topic_expected)) {
      if (topic->is_string() && TopicNameOk(topic->get<std::string>())) {
        *field = topic->get<std::string>();
      } else {
        check.Bad(name, topic_expected, *topic);
      }
    }
  }
  if (const json* guarantee = check.Field("guarantee", false, connectors::kGuaranteeValues)) {
    const auto parsed = guarantee->is_string()
                            ? connectors::ParseGuarantee(guarantee->get<std::string>())
                            : std::nullopt;
    if (parsed) {
      result.guarantee = *parsed;
    } else {
      check.Bad("guarantee", connectors::kGuaranteeValues, *guarantee);
    }
  }
  // The exactly-once mode sets transactional.id from the sink's identity.
  result.properties = check.Properties({"bootstrap.servers", "transactional.id"});
  return result;
}

Result<KafkaSourceConfig> SourceConfigFromJson(const std::string& config_json,
                                               const std::string& operator_label) {
  std::vector<std::string> problems;
  KafkaSourceConfig config = ParseSourceConfig(ParseJson(config_json), &problems);
  if (!problems.empty()) return Status::User(JoinProblems(operator_label, problems));
  return config;
}

Result<KafkaSinkConfig> SinkConfigFromJson(const std::string& config_json,
                                           const std::string& operator_label) {
  std::vector<std::string> problems;
  KafkaSinkConfig config = ParseSinkConfig(ParseJson(config_json), &problems);
  if (!problems.empty()) return Status::User(JoinProblems(operator_label, problems));
  return config;
}

std::string TopicPartition::ToString() const {
  return topic + "[" + std::to_string(partition) + "]";
}

std::vector<TopicPartition> AssignPartitions(const std::map<std::string, int32_t>& topics,
                                             uint32_t subtask, uint32_t parallelism) {
  std::vector<TopicPartition> mine;
  if (parallelism == 0) return mine;
  uint64_t index = 0;
  for (const auto& [topic, count] : topics) {  // std::map: ordered by name
    for (int32_t partition = 0; partition < count; ++partition, ++index) {
      if (index % parallelism == subtask) mine.push_back({topic, partition});
    }
  }
  return mine;
}

}  // namespace sluice::kafka
