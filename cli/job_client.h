#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"
#include "sluice/job_service.grpc.pb.h"

namespace sluice::cli {

// A client of the coordinator's JobService that turns transport failures into one plain
// message naming the coordinator's address. Used from one thread.
class JobClient {
 public:
  explicit JobClient(std::string address);

  Result<proto::SubmitJobResponse> Submit(const proto::JobSpec& spec);
  Result<proto::JobInfo> Get(const std::string& job_id);
  Result<proto::ListJobsResponse> List();
  Result<proto::JobInfo> Cancel(const std::string& job_id);
  Result<proto::GetResultsResponse> Results(const std::string& job_id, uint64_t offset);
  Result<proto::ListWorkersResponse> Workers();
  // Waits until the savepoint is complete (up to a few minutes).
  Result<proto::TriggerSavepointResponse> TriggerSavepoint(const std::string& job_id,
                                                           const std::string& directory);

  const std::string& address() const { return address_; }

 private:
  Status Check(const grpc::Status& status) const;
  // The stub, made on first use with the client security files (ClientSecurityFiles()).
  Result<proto::JobService::Stub*> GetStub();
  // One unary call with a deadline; transport failures become Check()'s plain message.
  template <typename Request, typename Response>
  Result<Response> Call(grpc::Status (proto::JobService::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                        const Request& request, std::chrono::milliseconds timeout) {
    auto stub = GetStub();
    if (!stub.ok()) return stub.status();
    Response response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    SLUICE_RETURN_IF_ERROR(Check(((*stub)->*method)(&context, request, &response)));
    return response;
  }

  std::string address_;
  std::unique_ptr<proto::JobService::Stub> stub_;
};

// "created", "running", ...: the user-facing name of a job state.
std::string JobStateName(proto::JobState state);
std::string TaskStateName(proto::TaskState state);

// The coordinator address: the flag if given, else $SLUICE_COORDINATOR, else 127.0.0.1:7070.
std::string CoordinatorAddress(const std::string& flag);

}  // namespace sluice::cli
