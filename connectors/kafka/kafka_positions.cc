#include "connectors/kafka/kafka_positions.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace sluice::kafka {

std::string PositionJson(const PartitionOffsets& offsets) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [tp, offset] : offsets) {
    list.push_back({{"topic", tp.topic}, {"partition", tp.partition}, {"offset", offset.value()}});
  }
  return nlohmann::json{{"offsets", std::move(list)}}.dump();
}

Result<PartitionOffsets> MergePositions(const std::vector<std::string>& positions,
                                        const std::string& operator_label) {
  PartitionOffsets merged;
  for (size_t i = 0; i < positions.size(); ++i) {
    const auto bad = [&](const std::string& what) {
      return Status::User(operator_label + ": cannot restore the source's position: position " +
                          std::to_string(i) + " of the checkpoint " + what + ": '" +
                          positions[i].substr(0, 120) + "'");
    };
    auto position = nlohmann::json::parse(positions[i], nullptr, false);
    if (position.is_discarded() || !position.is_object() || !position.contains("offsets") ||
        !position["offsets"].is_array()) {
      return bad("is not a Kafka position ({\"offsets\": [...]})");
    }
    for (const auto& entry : position["offsets"]) {
      if (!entry.is_object() || !entry.contains("topic") || !entry["topic"].is_string() ||
          !entry.contains("partition") || !entry["partition"].is_number_integer() ||
          !entry.contains("offset") || !entry["offset"].is_number_integer() ||
          entry["partition"].get<int64_t>() < 0 || entry["partition"].get<int64_t>() > INT32_MAX ||
          entry["offset"].get<int64_t>() < 0) {
        return bad("has a bad offset entry " + entry.dump());
      }
      const TopicPartition tp{entry["topic"].get<std::string>(), entry["partition"].get<int32_t>()};
      const KafkaOffset offset(entry["offset"].get<int64_t>());
      auto [it, inserted] = merged.emplace(tp, offset);
      if (!inserted) it->second = std::max(it->second, offset);
    }
  }
  return merged;
}

}  // namespace sluice::kafka
