#pragma once

#include "common/status.h"
#include "worker/io/io_kinds.h"

namespace sluice::redis {

// Registers sink.redis with the worker's sources and sinks (worker/runtime/worker_io_kinds.cc).
Status RegisterRedis(runtime::IoKinds& kinds);

}  // namespace sluice::redis
