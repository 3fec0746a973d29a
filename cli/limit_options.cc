#include "cli/limit_options.h"

namespace sluice::cli {

std::vector<std::string> LimitArgs(const LimitOptions& options) {
  std::vector<std::string> args = {
      "--max-heap-mb",      std::to_string(options.limits.max_heap_mb),
      "--max-call-timeout-ms", std::to_string(options.limits.max_call_timeout_ms),
      "--max-record-bytes", std::to_string(options.limits.max_record_bytes),
      "--max-line-bytes",   std::to_string(options.limits.max_line_bytes),
  };
  for (const std::string& path : options.allow_paths) {
    args.push_back("--allow-path");
    args.push_back(path);
  }
  return args;
}

}  // namespace sluice::cli
