#pragma once

#include "common/cluster_limits.h"
#include "common/status.h"
#include "sluice/job.pb.h"
#include "worker/js/js_engine.h"

namespace sluice::runtime {

// A task's JS limits: what its job asks for (heapLimitMb, callTimeout; 0 takes the defaults),
// held to the worker's maxima. A job over them (a worker may set lower maxima than the
// coordinator that admitted it) or under the heap an isolate needs is a user error naming the
// field. Pure.
Result<js::Limits> TaskJsLimits(const proto::JobSpec& spec, const ClusterLimits& cluster);

}  // namespace sluice::runtime
