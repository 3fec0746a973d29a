#pragma once

#include <string>
#include <vector>

#include "coordinator/job_validator.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator::testing {

inline Status AcceptAll(const std::string&) { return Status::Ok(); }

inline std::vector<proto::ValidationProblem> Validate(const proto::JobSpec& spec) {
  return ValidateJob(spec, AcceptAll);
}

// Whether a problem is filed under `operator_id` ("" for the job) and mentions every fragment.
inline bool HasProblem(const std::vector<proto::ValidationProblem>& problems,
                       const std::string& operator_id, const std::vector<std::string>& fragments) {
  for (const proto::ValidationProblem& problem : problems) {
    if (problem.operator_id() != operator_id) continue;
    bool all = true;
    for (const std::string& fragment : fragments) {
      all = all && problem.message().find(fragment) != std::string::npos;
    }
    if (all) return true;
  }
  return false;
}

inline std::string Dump(const std::vector<proto::ValidationProblem>& problems) {
  std::string text;
  for (const proto::ValidationProblem& problem : problems) {
    text += "[" + problem.operator_id() + "|" + problem.operator_name() + "] " + problem.message() +
            "\n";
  }
  return text;
}

}  // namespace sluice::coordinator::testing
