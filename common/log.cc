#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdlib>

namespace sluice {

void InitLogging(const char* default_level) {
  auto logger = spdlog::stderr_color_mt("sluice");
  const char* env = std::getenv("SLUICE_LOG");
  logger->set_level(spdlog::level::from_str(env != nullptr ? env : default_level));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%t] %v");
  spdlog::set_default_logger(logger);
}

}  // namespace sluice
