#pragma once

#include <string_view>

namespace sluice::js::runtime {

// The JS runtime files of worker/js/runtime, embedded at build time (see CMakeLists.txt and
// runtime_sources.cc.in). Each is a script whose completion value is its library:
//   nexmark   the Nexmark generator
//   keys      keys and key groups (keyString, hashString, keyGroupOfString, keyGroupOf,
//             targetOf); the one definition of key groups
//   codec     the exchange's batch codec (Target, decode)
//   timer_changes
//             the timers' incremental checkpoints (Changes), given to each TimerService
//   timers    per-operator event-time and processing-time timers (TimerService)
//   state     the keyed-state cache in front of the task's state backend
//   windows, joins, process, keyed
//             the keyed operators (see README.md, "Keyed operators")
// An unknown name is an empty view.
std::string_view RuntimeJs(std::string_view name);

inline std::string_view NexmarkJs() { return RuntimeJs("nexmark"); }
inline std::string_view KeysJs() { return RuntimeJs("keys"); }
inline std::string_view CodecJs() { return RuntimeJs("codec"); }

}  // namespace sluice::js::runtime
