#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::cli {

struct ProcessOutput {
  int exit_code = 0;
  std::string stdout_text;  // standard error is passed through to ours
};

// Runs argv[0] (looked up on PATH) with the arguments, capturing its standard output.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv);

}  // namespace sluice::cli
