#pragma once

#include <cstdint>

#include "worker/js/js_engine.h"

namespace sluice::js {

// Whether `backend` holds nothing in `table`; false when it cannot tell (a backend without
// Scan, or a failed one). A task that restores nothing starts so, and its state cache then
// reads only the keys it wrote itself (runtime/state.js, "A fresh backend"). The scan stops at
// the first entry, so a backend that holds state costs one seek. Any thread that may use the
// backend.
bool HoldsNothing(StateBackend &backend, uint32_t table);

}  // namespace sluice::js
