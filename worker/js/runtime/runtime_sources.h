#pragma once

#include <string_view>

namespace sluice::js::runtime {

// The JS runtime files of worker/js/runtime, embedded at build time
// (runtime_sources.cc.in).

// nexmark.js: a script whose completion value is the Nexmark generator library.
std::string_view NexmarkJs();

// keys.js: a script whose completion value is the key / key group library (keyString,
// hashString, keyGroupOfString, keyGroupOf, targetOf); the one definition of key groups.
std::string_view KeysJs();

// codec.js: a script whose completion value is the exchange's batch codec (Target, decode).
std::string_view CodecJs();

}  // namespace sluice::js::runtime
