#pragma once

// The job defaults live in common/job_defaults.h (the worker needs them too); the coordinator's
// code names them in its own namespace.
#include "common/job_defaults.h"

namespace sluice::coordinator {

using sluice::EffectiveJobParallelism;
using sluice::EffectiveMaxParallelism;
using sluice::EffectiveParallelism;
using sluice::IsForward;
using sluice::kDefaultMaxParallelism;
using sluice::kDefaultParallelism;
using sluice::kMaxMaxParallelism;

}  // namespace sluice::coordinator
