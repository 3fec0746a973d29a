#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::cli {

struct ProcessOutput {
  int exit_code = 0;
  std::string stdout_text;  // standard error is passed through to ours
};

// Runs argv[0] (looked up on PATH) with the arguments, capturing its standard output. The
// child leads a process group of its own (with whatever it starts, esbuild say) and is killed
// with this process (PR_SET_PDEATHSIG). `interrupted`, polled while the child runs, says when
// to stop it: its group then gets SIGTERM, SIGKILL two seconds later, and the result is a
// kCancelled Status.
Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                 const std::function<bool()>& interrupted = {});

}  // namespace sluice::cli
