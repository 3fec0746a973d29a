#pragma once

#include <spdlog/spdlog.h>

namespace sluice {

// Sends logs to standard error (standard output belongs to the stdout sink). The level comes
// from SLUICE_LOG (trace, debug, info, warn, error, off); `default_level` otherwise.
void InitLogging(const char* default_level = "info");

}  // namespace sluice
