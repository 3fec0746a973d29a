#pragma once

#include <cstdint>

namespace sluice {

// The smallest heap limit a task's V8 isolate can start with (less crashed in Isolate::New).
inline constexpr uint32_t kMinHeapLimitMb = 16;

// The maxima a cluster sets for every job, whatever the job asks for: the coordinator refuses
// a job that asks for more at submit (coordinator/limit_checks.h), and a worker holds every task
// to them (and refuses less heap than an isolate needs). Flags of `sluice coordinator`,
// `sluice worker`, `sluice cluster` and `sluice run` (cli/limit_options.h). Plain values,
// copied freely.
struct ClusterLimits {
  uint32_t max_heap_mb = 4096;            // a task's JS heap (and as much again in ArrayBuffers)
  uint32_t max_call_timeout_ms = 600000;  // one call into a task's JS (callTimeout)
  uint64_t max_record_bytes = uint64_t{64} << 20;  // one output record's JSON
  uint64_t max_line_bytes = uint64_t{16} << 20;    // one line a file source reads
};

}  // namespace sluice
