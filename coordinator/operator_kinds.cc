#include "coordinator/operator_kinds.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "coordinator/operator_checks.h"

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
       {Path(true), {"format", ConfigFieldType::kEnum, false, {"lines", "json"}}, Count("batchSize"),
        Count("maxLineBytes")},
       {}},
      {"source.generator", {Count("count"), Rate("rate")}, {optional_fn}},
      {"source.nexmark", {Count("events"), Rate("rate"), Count("baseTime"), Rate("eventsPerSecond")}, {}},
      {"map", {}, {required_fn}},
      {"filter", {}, {required_fn}},
      {"flat_map", {}, {required_fn}},
      {"union", {}, {}},
      {"assign_timestamps", {Count("maxOutOfOrderness"), Count("idleTimeout")}, {required_fn}},
      {"reduce", {}, {required_fn}},
      {"aggregate", {}, {{"create", true}, {"add", true}, {"merge", false}, {"result", false}}},
      {"window",
       {{"assigner", ConfigFieldType::kObject, true, {}},
        {"time", ConfigFieldType::kEnum, false, {"event", "processing"}},
        {"trigger", ConfigFieldType::kObject, false, {}},
        Count("allowedLateness"),
        {"lateOutput", ConfigFieldType::kBoolean, false, {}},
        {"function", ConfigFieldType::kEnum, true, {"reduce", "aggregate", "count"}}},
       {{"reduce", false}, {"create", false}, {"add", false}, {"merge", false}, {"result", false}},
       &CheckWindow},
      {"window_join", {{"assigner", ConfigFieldType::kObject, true, {}}}, {{"apply", true}},
       &CheckWindowJoin},
      {"interval_join",
       {{"lower", ConfigFieldType::kNumber, true, {}}, {"upper", ConfigFieldType::kNumber, true, {}}},
       {{"apply", true}},
       &CheckIntervalJoin},
      {"process", {}, {{"processElement", true}, {"onTimer", false}}},
      {"sink.stdout", {}, {}},
      {"sink.file", {Path(true), {"overwrite", ConfigFieldType::kBoolean}}, {}},
      {"sink.collect", {}, {}},
      {"sink.discard", {}, {}},
      {"sink.redis", {}, {required_fn}, nullptr, &CheckRedisSink},
      {"sink.mysql", {}, {required_fn}, nullptr, &CheckMySqlSink},
      {"source.kafka", {}, {}, nullptr, &CheckKafkaSource},
      {"sink.kafka", {}, {{"key", false}, {"value", false}, {"partition", false}}, nullptr,
       &CheckKafkaSink},
  };
}

// The coordinator's checks joined with the shared table's role, keyedness and inputs; a kind in
// one and not the other is a programming error, caught by the first use (and the unit tests).
std::vector<OperatorKind> JoinWithSharedTable(std::vector<OperatorKind> catalogue) {
  std::vector<OperatorKind> joined;
  for (const OperatorKindTraits& traits : AllOperatorKinds()) {
    auto it = std::find_if(catalogue.begin(), catalogue.end(),
                           [&](const OperatorKind& kind) { return kind.name == traits.name; });
    if (it == catalogue.end()) {
      std::fprintf(stderr, "sluice: operator kind '%s' has no coordinator checks\n",
                   std::string(traits.name).c_str());
      std::abort();
    }
    it->role = traits.role;
    it->keyed = traits.keyed;
    it->inputs = traits.inputs;
    joined.push_back(std::move(*it));
    catalogue.erase(it);
  }
  if (!catalogue.empty()) {
    std::fprintf(stderr, "sluice: operator kind '%s' is not in common/operator_kinds.cc\n",
                 catalogue.front().name.c_str());
    std::abort();
  }
  return joined;
}

}  // namespace

const std::vector<OperatorKind>& OperatorKinds() {
  static const std::vector<OperatorKind> kCatalogue = JoinWithSharedTable(BuildCatalogue());
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
