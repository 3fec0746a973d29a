#pragma once

#include "common/status.h"
#include "worker/io/io_kinds.h"

namespace sluice::runtime {

// The worker's sources and sinks by kind: the built-in ones and every connector's. Built on the
// first call (thread-safe), then read-only; the one place a worker is wired to its connectors.
const IoKinds& WorkerIoKinds();

// The built-in sources (file, generator, nexmark; source_driver.cc) and sinks (stdout, discard,
// collect, file; batch_sink.cc).
Status RegisterBuiltinSources(IoKinds& kinds);
Status RegisterBuiltinSinks(IoKinds& kinds);

}  // namespace sluice::runtime
