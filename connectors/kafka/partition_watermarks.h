#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "connectors/kafka/kafka_config.h"

namespace sluice::kafka {

// The watermark of a Kafka source with "watermarks" (issue 5): the event time of a record is its
// message's timestamp; each assigned partition keeps the greatest timestamp it has seen, and the
// source's watermark is the minimum over its partitions minus maxOutOfOrderness minus 1 (as
// assign_timestamps). A partition without a message for idleTimeout is idle and a finished one
// (a bounded source at its end) has nothing more to say: neither holds the watermark back. A
// partition that has had no timestamp yet holds it at -infinity until it goes idle.
//
// Pure (the caller passes the time). Created when the source connects; used on the task thread;
// owned by the source.
class PartitionWatermarks {
 public:
  using Clock = std::chrono::steady_clock;

  // `partitions` partitions, all active as of `now`.
  PartitionWatermarks(SourceWatermarks config, size_t partitions, Clock::time_point now);

  // A message of partition `index` came, with its timestamp when it has one.
  void OnMessage(size_t index, std::optional<int64_t> timestamp_ms, Clock::time_point now);
  // Partition `index` will have no more messages.
  void OnFinished(size_t index);

  // The source's watermark at `now` (kMinWatermark while an active partition has no timestamp
  // yet), or nullopt when every partition is idle or finished.
  std::optional<int64_t> Current(Clock::time_point now) const;
  // Whether every partition is idle or finished at `now` (true without partitions).
  bool AllIdle(Clock::time_point now) const;

 private:
  struct Partition {
    std::optional<int64_t> max_timestamp;
    Clock::time_point last_message;
    bool finished = false;
  };
  bool Idle(const Partition& partition, Clock::time_point now) const;

  SourceWatermarks config_;
  std::vector<Partition> partitions_;
};

}  // namespace sluice::kafka
