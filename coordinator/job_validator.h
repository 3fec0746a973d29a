#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/job.pb.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator {

// Checks one user function's source text; an error's message says why it cannot run (the real
// checker compiles it in V8, tests pass a fake). Called on the validating thread only.
using FunctionChecker = std::function<Status(const std::string& source)>;

// Validates a submitted job completely, before anything is planned or deployed, and returns
// every problem found (empty: the job is valid). A problem about one operator carries its id and
// name, and its message names the operator; a problem with the job as a whole has no operator.
// Pure: no I/O besides what `check` does.
std::vector<proto::ValidationProblem> ValidateJob(const proto::JobSpec& spec,
                                                  const FunctionChecker& check);

}  // namespace sluice::coordinator
