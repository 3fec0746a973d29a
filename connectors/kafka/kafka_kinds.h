#pragma once

#include "common/status.h"
#include "worker/io/io_kinds.h"

namespace sluice::kafka {

// Registers source.kafka and sink.kafka with the worker's sources and sinks (worker/runtime/worker_io_kinds.cc).
Status RegisterKafka(runtime::IoKinds& kinds);

}  // namespace sluice::kafka
