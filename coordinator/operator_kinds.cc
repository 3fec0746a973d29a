#include "coordinator/operator_kinds.h"

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
       {Path(true), {"format", ConfigFieldType::kEnum, false, {"lines", "json"}}},
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
      {"reduce", OperatorRole::kTransform, {}, {required_fn}, /*keyed=*/true},
      {"sink.stdout", OperatorRole::kSink, {}, {}},
      {"sink.file", OperatorRole::kSink, {Path(true)}, {}},
      {"sink.collect", OperatorRole::kSink, {}, {}},
      {"sink.discard", OperatorRole::kSink, {}, {}},
      {"source.kafka", OperatorRole::kSource, {}, {}, false, &CheckKafkaSource},
      {"sink.kafka",
       OperatorRole::kSink,
       {},
       {{"key", false}, {"value", false}, {"partition", false}},
       false,
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
