#pragma once

#include "common/metrics.h"
#include "coordinator/coordinator_node.h"

namespace sluice::coordinator {

// Reports the coordinator's jobs (by state), workers and per-task record counts for /metrics.
// Called on the scraping thread; reads the node through its thread-safe accessors.
void CollectCoordinatorMetrics(const CoordinatorNode& node, MetricsWriter& writer);

}  // namespace sluice::coordinator
