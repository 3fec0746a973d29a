#pragma once

#include <string_view>

namespace sluice::js::runtime {

// The JS runtime files of worker/js/runtime, embedded at build time
// (runtime_sources.cc.in).

// nexmark.js: a script whose completion value is the Nexmark generator library.
std::string_view NexmarkJs();

}  // namespace sluice::js::runtime
