// The JSON routes of HttpApi: each turns one request into calls on the CoordinatorNode.
#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <chrono>

#include "coordinator/http/api_json.h"
#include "coordinator/http/http_api.h"

namespace sluice::coordinator::http {
namespace {

using nlohmann::json;

uint64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Ended(proto::JobState state) {
  return state == proto::JOB_FINISHED || state == proto::JOB_CANCELED || state == proto::JOB_FAILED;
}

}  // namespace

void HttpApi::ListJobs(httplib::Response& response) const {
  json jobs = json::array();
  uint64_t now = NowMs();
  const proto::ListJobsResponse list = node_.ListJobs();
  for (const auto& info : list.jobs()) jobs.push_back(JobSummaryJson(info, now));
  SendJson(response, 200, json{{"jobs", jobs}}.dump());
}

void HttpApi::SubmitJob(const httplib::Request& request, httplib::Response& response,
                        bool deploy) {
  proto::JobSpec spec;
  google::protobuf::util::JsonParseOptions parse_options;
  auto parsed = google::protobuf::util::JsonStringToMessage(request.body, &spec, parse_options);
  if (!parsed.ok()) {
    SendError(response, 400, "invalid_spec",
              "the body is not a JobSpec (the JSON job.toSpec() returns): " +
                  std::string(parsed.message()));
    return;
  }
  // A job posted over HTTP does not get to name a directory of the coordinator's host to
  // restore from; savepoints are for the CLI.
  if (!spec.restore_from().empty()) {
    SendJson(response, 400,
             ErrorJson("invalid_job", "job '" + spec.name() + "' was refused",
                       json::array({{{"operatorId", ""},
                                     {"operatorName", ""},
                                     {"message",
                                      "restoreFrom is not accepted over HTTP; use `sluice submit "
                                      "--from-savepoint`"}}}))
                 .dump());
    return;
  }
  if (!deploy) {
    auto problems = node_.Validate(spec);
    if (!problems.empty()) {
      SendJson(response, 400,
               ErrorJson("invalid_job", "job '" + spec.name() + "' has " +
                                            std::to_string(problems.size()) + " problem(s)",
                         ProblemsJson(problems))
                   .dump());
      return;
    }
    SendJson(response, 200, json{{"valid", true}, {"problems", json::array()}}.dump());
    return;
  }
  proto::SubmitJobResponse submitted = node_.Submit(spec);
  if (submitted.job_id().empty()) {
    std::vector<proto::ValidationProblem> problems(submitted.problems().begin(),
                                                   submitted.problems().end());
    SendJson(response, 400,
             ErrorJson("invalid_job", "job '" + spec.name() + "' was refused",
                       ProblemsJson(problems))
                 .dump());
    return;
  }
  response.set_header("Location", "/api/v1/jobs/" + submitted.job_id());
  SendJson(response, 201, json{{"id", submitted.job_id()}}.dump());
}

void HttpApi::GetJob(const std::string& id, httplib::Response& response) const {
  auto info = node_.GetJob(JobId(id));
  if (!info.ok()) return SendError(response, 404, "not_found", info.status().message());
  SendJson(response, 200, JobDetailJson(*info, NowMs()).dump());
}

void HttpApi::GetPlan(const std::string& id, httplib::Response& response) const {
  auto spec = node_.SpecOf(JobId(id));
  if (!spec.ok()) return SendError(response, 404, "not_found", spec.status().message());
  auto plan = PlanJson(*spec, id);
  if (!plan.ok()) return SendError(response, 500, "internal", plan.status().message());
  SendJson(response, 200, plan->dump());
}

void HttpApi::CancelJob(const std::string& id, httplib::Response& response) {
  auto before = node_.GetJob(JobId(id));
  if (!before.ok()) return SendError(response, 404, "not_found", before.status().message());
  if (Ended(before->state())) {
    return SendError(response, 409, "conflict",
                     "job " + id + " has already ended (" + StateName(before->state()) + ")");
  }
  auto info = node_.CancelJob(JobId(id));
  if (!info.ok()) {
    return SendError(response, HttpStatusOf(info.status()), "cancel_failed",
                     info.status().message());
  }
  SendJson(response, 200, JobDetailJson(*info, NowMs()).dump());
}

void HttpApi::TriggerSavepoint(const std::string& id, httplib::Response& response) {
  auto before = node_.GetJob(JobId(id));
  if (!before.ok()) return SendError(response, 404, "not_found", before.status().message());
  proto::TriggerSavepointRequest request;
  request.set_job_id(id);  // into the cluster's checkpoint directory; no other over HTTP
  auto savepoint = node_.TriggerSavepoint(request, std::chrono::minutes(2));
  if (!savepoint.ok()) {
    int status = HttpStatusOf(savepoint.status());
    // A job that is not running, or runs without checkpoints, cannot take one.
    if (savepoint.status().code() == StatusCode::kNotFound) status = 409;
    return SendError(response, status, status == 409 ? "conflict" : "savepoint_failed",
                     savepoint.status().message());
  }
  SendJson(response, 201,
           json{{"path", savepoint->path()}, {"checkpointId", savepoint->checkpoint_id()}}.dump());
}

void HttpApi::Ready(httplib::Response& response) const {
  auto workers = node_.ListWorkers();
  uint32_t slots = 0;
  for (const auto& w : workers.workers()) slots += w.slots();
  json body = {{"workers", workers.workers_size()}, {"slots", slots}};
  if (slots == 0) {
    body["status"] = "not ready";
    body["reason"] = "no worker with free slots has registered";
    return SendJson(response, 503, body.dump());
  }
  body["status"] = "ready";
  SendJson(response, 200, body.dump());
}

}  // namespace sluice::coordinator::http
