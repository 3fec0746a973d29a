#include "connectors/kafka/kafka_kinds.h"

#include <nlohmann/json.hpp>

#include "connectors/kafka/kafka_config.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"

namespace sluice::kafka {

namespace {

void CheckKafkaSource(const nlohmann::json& config, std::vector<std::string>* problems) {
  static_cast<void>(ParseSourceConfig(config, problems));
}
void CheckKafkaSink(const nlohmann::json& config, std::vector<std::string>* problems) {
  static_cast<void>(ParseSinkConfig(config, problems));
}

}  // namespace

Status RegisterKafka(runtime::IoKinds& kinds) {
  // Every message reaches the chain as one JSON line.
  SLUICE_RETURN_IF_ERROR(kinds.AddSource(
      "source.kafka",
      runtime::SourceKind{MakeKafkaSource, [](const std::string&) { return std::string("json"); },
                          {.check_config = &CheckKafkaSource}}));
  return kinds.AddSink(
      "sink.kafka",
      runtime::SinkKind{MakeKafkaSink, KafkaSinkStages,
                        {.functions = {{"key", false}, {"value", false}, {"partition", false}},
                         .check_config = &CheckKafkaSink}});
}

}  // namespace sluice::kafka
