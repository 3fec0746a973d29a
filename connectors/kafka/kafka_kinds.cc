#include "connectors/kafka/kafka_kinds.h"

#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"

namespace sluice::kafka {

Status RegisterKafka(runtime::IoKinds& kinds) {
  // Every message reaches the chain as one JSON line.
  SLUICE_RETURN_IF_ERROR(kinds.AddSource(
      "source.kafka",
      runtime::SourceKind{MakeKafkaSource, [](const std::string&) { return std::string("json"); }}));
  return kinds.AddSink("sink.kafka", runtime::SinkKind{MakeKafkaSink, KafkaSinkStages});
}

}  // namespace sluice::kafka
