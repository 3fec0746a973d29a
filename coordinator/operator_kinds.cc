#include "coordinator/operator_kinds.h"

#include "coordinator/operator_checks.h"
#include <nlohmann/json.hpp>

#include "connectors/mysql/mysql_config.h"
#include "connectors/redis/redis_config.h"
#include "connectors/kafka/kafka_config.h"

namespace sluice::coordinator {
namespace {

ConfigField Path(bool required) { return {"path", ConfigFieldType::kAbsolutePath, required, {}}; }
ConfigField Count(std::string name) {
  return {std::move(name), ConfigFieldType::kNonNegativeInteger, false, {}};
}
ConfigField Rate(std::string name) {
  return {std::move(name), ConfigFieldType::kPositiveNumber, false, {}};
}

void CheckRedisSink(const nlohmann::json& config, std::vector<std::string>* problems) {
  for (const std::string& problem : redis::CheckRedisConfig(config)) {
    problems->push_back(": " + problem);
  }
}
void CheckMySqlSink(const nlohmann::json& config, std::vector<std::string>* problems) {
  for (const std::string& problem : mysql::CheckMySqlConfig(config)) {
    problems->push_back(": " + problem);
  }
}
void CheckKafkaSource(const nlohmann::json& config, std::vector<std::string>* problems) {
  static_cast<void>(kafka::ParseSourceConfig(config, problems));
}
void CheckKafkaSink(const nlohmann::json& config, std::vector<std::string>* problems) {
  static_cast<void>(kafka::ParseSinkConfig(config, problems));
}

std::vector<OperatorKind> BuildCatalogue() {
  const FunctionSlot required_fn{"fn", true};
  const FunctionSlot optional_fn{"fn", false};
  return {
      {"source.file",
       OperatorRole::kSource,
       {Path(true), {"format", ConfigFieldType::kEnum, false, {"lines", "json"}}, Count("batchSize"),
        Count("maxLineBytes")},
       {}},
      {"source.generator", OperatorRole::kSource, {Count("count"), Rate("rate")}, {optional_fn}},
      {"source.nexmark",
       OperatorRole::kSource,
       {Count("events"), Rate("rate"), Count("baseTime"), Rate("eventsPerSecond")},
       {}},
      {"map", OperatorRole::kTransform, {}, {required_fn}},
      {"filter", OperatorRole::kTransform, {}, {required_fn}},
      {"flat_map", OperatorRole::kTransform, {}, {required_fn}},
      {"union", OperatorRole::kTransform, {}, {}},
      {"assign_timestamps",
       OperatorRole::kTransform,
       {Count("maxOutOfOrderness"), Count("idleTimeout")},
       {required_fn}},
      {"reduce", OperatorRole::kTransform, {}, {required_fn}, /*keyed=*/true},
      {"aggregate",
       OperatorRole::kTransform,
       {},
       {{"create", true}, {"add", true}, {"merge", false}, {"result", false}},
       /*keyed=*/true},
      {"window",
       OperatorRole::kTransform,
       {{"assigner", ConfigFieldType::kObject, true, {}},
        {"time", ConfigFieldType::kEnum, false, {"event", "processing"}},
        {"trigger", ConfigFieldType::kObject, false, {}},
        Count("allowedLateness"),
        {"lateOutput", ConfigFieldType::kBoolean, false, {}},
        {"function", ConfigFieldType::kEnum, true, {"reduce", "aggregate", "count"}}},
       {{"reduce", false}, {"create", false}, {"add", false}, {"merge", false}, {"result", false}},
       /*keyed=*/true,
       1,
       &CheckWindow},
      {"window_join",
       OperatorRole::kTransform,
       {{"assigner", ConfigFieldType::kObject, true, {}}},
       {{"apply", true}},
       /*keyed=*/true,
       2,
       &CheckWindowJoin},
      {"interval_join",
       OperatorRole::kTransform,
       {{"lower", ConfigFieldType::kNumber, true, {}}, {"upper", ConfigFieldType::kNumber, true, {}}},
       {{"apply", true}},
       /*keyed=*/true,
       2,
       &CheckIntervalJoin},
      {"process",
       OperatorRole::kTransform,
       {},
       {{"processElement", true}, {"onTimer", false}},
       /*keyed=*/true},
      {"sink.stdout", OperatorRole::kSink, {}, {}},
      {"sink.file", OperatorRole::kSink, {Path(true), {"overwrite", ConfigFieldType::kBoolean}}, {}},
      {"sink.collect", OperatorRole::kSink, {}, {}},
      {"sink.discard", OperatorRole::kSink, {}, {}},
      {"sink.redis", OperatorRole::kSink, {}, {required_fn}, false, 1, nullptr, &CheckRedisSink},
      {"sink.mysql", OperatorRole::kSink, {}, {required_fn}, false, 1, nullptr, &CheckMySqlSink},
      {"source.kafka", OperatorRole::kSource, {}, {}, false, 1, nullptr, &CheckKafkaSource},
      {"sink.kafka",
       OperatorRole::kSink,
       {},
       {{"key", false}, {"value", false}, {"partition", false}},
       false,
       1,
       nullptr,
       &CheckKafkaSink},
  };
}

}  // namespace

const std::vector<OperatorKind>& OperatorKinds() {
  static const std::vector<OperatorKind> kCatalogue = BuildCatalogue();
  return kCatalogue;
}

const OperatorKind* FindOperatorKind(std::string_view kind) {
  for (const OperatorKind& entry : OperatorKinds()) {
    if (entry.name == kind) return &entry;
  }
  return nullptr;
}

std::string KnownKindNames() {
  std::string names;
  for (const OperatorKind& entry : OperatorKinds()) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

std::string DescribeFieldType(const ConfigField& field) {
  switch (field.type) {
    case ConfigFieldType::kAbsolutePath:
      return "an absolute path (a string starting with '/')";
    case ConfigFieldType::kNonNegativeInteger:
      return "a non-negative integer";
    case ConfigFieldType::kPositiveNumber:
      return "a positive number";
    case ConfigFieldType::kNumber:
      return "a number";
    case ConfigFieldType::kBoolean:
      return "true or false";
    case ConfigFieldType::kObject:
      return "a JSON object";
    case ConfigFieldType::kEnum: {
      std::string text = "one of";
      for (size_t i = 0; i < field.allowed.size(); ++i) {
        text += (i == 0 ? " \"" : ", \"") + field.allowed[i] + "\"";
      }
      return text;
    }
  }
  return "a valid value";
}

}  // namespace sluice::coordinator
