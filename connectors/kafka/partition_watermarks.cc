#include "connectors/kafka/partition_watermarks.h"

#include <algorithm>

#include "worker/js/js_engine.h"

namespace sluice::kafka {

PartitionWatermarks::PartitionWatermarks(SourceWatermarks config, size_t partitions,
                                         Clock::time_point now)
    : config_(config), partitions_(partitions, Partition{std::nullopt, now, false}) {}

void PartitionWatermarks::OnMessage(size_t index, std::optional<int64_t> timestamp_ms,
                                    Clock::time_point now) {
  Partition& partition = partitions_.at(index);
  partition.last_message = now;
  if (timestamp_ms.has_value()) {
    partition.max_timestamp =
        std::max(partition.max_timestamp.value_or(*timestamp_ms), *timestamp_ms);
  }
}

void PartitionWatermarks::OnFinished(size_t index) { partitions_.at(index).finished = true; }

bool PartitionWatermarks::Idle(const Partition& partition, Clock::time_point now) const {
  if (partition.finished) return true;
  return config_.idle_timeout_ms.has_value() &&
         now - partition.last_message >= std::chrono::milliseconds(*config_.idle_timeout_ms);
}

std::optional<int64_t> PartitionWatermarks::Current(Clock::time_point now) const {
  std::optional<int64_t> lowest;
  for (const Partition& partition : partitions_) {
    if (Idle(partition, now)) continue;
    if (!partition.max_timestamp.has_value()) return js::kMinWatermark;
    lowest = std::min(lowest.value_or(*partition.max_timestamp), *partition.max_timestamp);
  }
  if (!lowest.has_value()) return std::nullopt;
  const int64_t behind = config_.max_out_of_orderness_ms + 1;
  if (*lowest < js::kMinWatermark + behind) return js::kMinWatermark;  // would wrap
  return *lowest - behind;
}

bool PartitionWatermarks::AllIdle(Clock::time_point now) const {
  return std::all_of(partitions_.begin(), partitions_.end(),
                     [&](const Partition& partition) { return Idle(partition, now); });
}

}  // namespace sluice::kafka
