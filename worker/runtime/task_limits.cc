#include "worker/runtime/task_limits.h"

#include <string>

namespace sluice::runtime {

Result<js::Limits> TaskJsLimits(const proto::JobSpec& spec, const ClusterLimits& cluster) {
  js::Limits limits;
  if (spec.call_timeout_ms() > 0) limits.call_timeout_ms = spec.call_timeout_ms();
  if (spec.heap_limit_mb() > 0) limits.heap_limit_mb = spec.heap_limit_mb();
  const std::string job = "job '" + spec.name() + "': ";
  if (limits.heap_limit_mb < kMinHeapLimitMb) {
    return Status::User(job + "heapLimitMb " + std::to_string(limits.heap_limit_mb) +
                        " is below the " + std::to_string(kMinHeapLimitMb) +
                        " MB a task's JS isolate needs");
  }
  if (limits.heap_limit_mb > cluster.max_heap_mb) {
    return Status::User(job + "heapLimitMb " + std::to_string(limits.heap_limit_mb) +
                        " is above this worker's maximum of " +
                        std::to_string(cluster.max_heap_mb) + " MB (--max-heap-mb)");
  }
  if (limits.call_timeout_ms > cluster.max_call_timeout_ms) {
    return Status::User(job + "callTimeout " + std::to_string(limits.call_timeout_ms) +
                        " ms is above this worker's maximum of " +
                        std::to_string(cluster.max_call_timeout_ms) +
                        " ms (--max-call-timeout-ms)");
  }
  return limits;
}

}  // namespace sluice::runtime
