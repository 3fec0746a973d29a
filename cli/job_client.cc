#include "cli/job_client.h"

#include <cstdlib>

#include "cli/security_options.h"
#include "common/grpc_util.h"

namespace sluice::cli {
namespace {

constexpr std::chrono::milliseconds kTimeout = std::chrono::seconds(10);

std::string Lower(std::string s, const std::string& prefix) {
  if (s.rfind(prefix, 0) == 0) s = s.substr(prefix.size());
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

JobClient::JobClient(std::string address) : address_(std::move(address)) {
  size_t start = 0;
  while (start <= address_.size()) {
    size_t comma = address_.find(',', start);
    if (comma == std::string::npos) comma = address_.size();
    if (comma > start) addresses_.push_back(address_.substr(start, comma - start));
    start = comma + 1;
  }
  if (addresses_.empty()) addresses_.push_back(address_);
  stubs_.resize(addresses_.size());
}

Result<proto::JobService::Stub*> JobClient::GetStub(size_t index) {
  if (stubs_[index] == nullptr) {
    auto security = LoadClusterSecurity(ClientSecurityFiles());
    if (!security.ok()) return security.status();
    stubs_[index] = proto::JobService::NewStub(MakeChannel(addresses_[index], *security));
  }
  return stubs_[index].get();
}

Status JobClient::Check(const grpc::Status& status) const {
  if (status.ok()) return Status::Ok();
  const std::string& address = addresses_[current_];
  // A standby's refusal says where the leader is: show it as it is.
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
      status.error_message().find("standby") != std::string::npos) {
    return FromGrpc(status, "coordinator " + address);
  }
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return Status::Unavailable("cannot reach the Sluice coordinator at " + address +
                               " (is it running?)");
  }
  return FromGrpc(status, "coordinator " + address);
}

Result<proto::SubmitJobResponse> JobClient::Submit(const proto::JobSpec& spec) {
  proto::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  return Call(&proto::JobService::Stub::SubmitJob, request, std::chrono::seconds(60));
}

Result<proto::JobInfo> JobClient::Get(const std::string& job_id) {
  proto::GetJobRequest request;
  request.set_job_id(job_id);
  return Call(&proto::JobService::Stub::GetJob, request, kTimeout);
}

Result<proto::ListJobsResponse> JobClient::List() {
  proto::ListJobsRequest request;
  return Call(&proto::JobService::Stub::ListJobs, request, kTimeout);
}

Result<proto::JobInfo> JobClient::Cancel(const std::string& job_id) {
  proto::CancelJobRequest request;
  request.set_job_id(job_id);
  return Call(&proto::JobService::Stub::CancelJob, request, kTimeout);
}

Result<proto::GetResultsResponse> JobClient::Results(const std::string& job_id, uint64_t offset) {
  proto::GetResultsRequest request;
  request.set_job_id(job_id);
  request.set_offset(offset);
  request.set_max_records(100000);
  return Call(&proto::JobService::Stub::GetResults, request, kTimeout);
}

Result<proto::ListWorkersResponse> JobClient::Workers() {
  proto::ListWorkersRequest request;
  return Call(&proto::JobService::Stub::ListWorkers, request, kTimeout);
}

Result<proto::TriggerSavepointResponse> JobClient::TriggerSavepoint(
    const std::string& job_id, const std::string& directory) {
  proto::TriggerSavepointRequest request;
  request.set_job_id(job_id);
  request.set_directory(directory);
  return Call(&proto::JobService::Stub::TriggerSavepoint, request, std::chrono::minutes(3));
}

std::string JobStateName(proto::JobState state) {
  return Lower(proto::JobState_Name(state), "JOB_");
}

std::string TaskStateName(proto::TaskState state) {
  return Lower(proto::TaskState_Name(state), "TASK_");
}

std::string CoordinatorAddress(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("SLUICE_COORDINATOR");
  if (env != nullptr && *env != '\0') return env;
  return "127.0.0.1:7070";
}

}  // namespace sluice::cli
