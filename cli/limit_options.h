#pragma once

#include <string>
#include <vector>

#include "common/cluster_limits.h"

namespace sluice::cli {

// The limits and file roots a command was given (cli/limit_flags.h adds the flags): the
// coordinator checks jobs against `limits` at submit, a worker holds its tasks to them and
// lets file sources and sinks use only `allow_paths`.
struct LimitOptions {
  ClusterLimits limits;
  std::vector<std::string> allow_paths;
};

// The same options as command-line arguments, for the worker processes `sluice cluster` starts.
std::vector<std::string> LimitArgs(const LimitOptions& options);

}  // namespace sluice::cli
