#pragma once

// The HTTP API's JSON shapes (documented in openapi.cc): pure conversions from the coordinator's
// protobuf answers. camelCase fields; states in lower case ("running").

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/job.pb.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator::http {

std::string StateName(proto::JobState state);
std::string TaskStateName(proto::TaskState state);

// A job in the list: id, name, state, started, duration.
nlohmann::json JobSummaryJson(const proto::JobInfo& info, uint64_t now_ms);
// A job in full: state, reason, restarts, checkpoints, tasks.
nlohmann::json JobDetailJson(const proto::JobInfo& info, uint64_t now_ms);
// A task's output watermark: epoch ms, "end" once its input ended, null before it has one.
nlohmann::json WatermarkJson(const proto::TaskInfo& task);
// What a status event carries: the detail without the tasks' record counts (they change every
// second; metrics events carry them).
nlohmann::json JobStatusJson(const proto::JobInfo& info, uint64_t now_ms);
nlohmann::json WorkersJson(const proto::ListWorkersResponse& workers);
nlohmann::json ProblemsJson(const std::vector<proto::ValidationProblem>& problems);
// Operators as written, edges with their partitioning, and the chained task groups.
Result<nlohmann::json> PlanJson(const proto::JobSpec& spec, const std::string& job_id);
// {"error": {"code", "message", "problems"?}}
nlohmann::json ErrorJson(const std::string& code, const std::string& message,
                         const nlohmann::json& problems = nullptr);

}  // namespace sluice::coordinator::http
