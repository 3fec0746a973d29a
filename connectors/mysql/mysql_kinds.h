#pragma once

#include "common/status.h"
#include "worker/io/io_kinds.h"

namespace sluice::mysql {

// Registers sink.mysql with the worker's sources and sinks (worker/runtime/worker_io_kinds.cc).
Status RegisterMySql(runtime::IoKinds& kinds);

}  // namespace sluice::mysql
