#pragma once

#include <cstdint>

#include "sluice/job.pb.h"

namespace sluice {

// What a zero in JobSpec means (proto/sluice/job.proto), in one place for the coordinator's
// validator and planner and the worker's tasks.
inline constexpr uint32_t kDefaultParallelism = 1;
inline constexpr uint32_t kDefaultMaxParallelism = 128;
inline constexpr uint32_t kMaxMaxParallelism = 32768;

inline uint32_t EffectiveJobParallelism(const proto::JobSpec& spec) {
  return spec.parallelism() == 0 ? kDefaultParallelism : spec.parallelism();
}

inline uint32_t EffectiveMaxParallelism(const proto::JobSpec& spec) {
  return spec.max_parallelism() == 0 ? kDefaultMaxParallelism : spec.max_parallelism();
}

// An operator's parallelism: its own, or the job's when it has none.
inline uint32_t EffectiveParallelism(const proto::JobSpec& spec, const proto::Operator& op) {
  return op.parallelism() == 0 ? EffectiveJobParallelism(spec) : op.parallelism();
}

// A FORWARD edge; PARTITIONING_UNSPECIFIED is treated as FORWARD.
inline bool IsForward(const proto::Edge& edge) {
  return edge.partitioning() == proto::FORWARD ||
         edge.partitioning() == proto::PARTITIONING_UNSPECIFIED;
}

}  // namespace sluice
