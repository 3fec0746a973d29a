#pragma once

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/job_service.grpc.pb.h"

namespace sluice::cli {

// A client of the coordinator's JobService that turns transport failures into one plain
// message naming the coordinator's address. `address` may list several coordinators separated
// by commas (a leader and its standbys): a call that finds one unreachable, silent or a standby
// that refuses it moves on to the next, and the client sticks with the one that answered.
// Used from one thread.
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
  // The stub of addresses_[index], made on first use with the client security files
  // (ClientSecurityFiles()).
  Result<proto::JobService::Stub*> GetStub(size_t index);
  // One unary call with a deadline; transport failures become Check()'s plain message.
  template <typename Request, typename Response>
  Result<Response> Call(grpc::Status (proto::JobService::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                        const Request& request, std::chrono::milliseconds timeout) {
    // With standbys, one silent coordinator (paused, or dead without a reset) must not hold up
    // the call for the whole timeout.
    const auto each = addresses_.size() > 1 ? std::min(timeout, kPerCoordinatorTimeout) : timeout;
    Status last = Status::Ok();
    for (size_t tried = 0; tried < addresses_.size(); ++tried) {
      auto stub = GetStub(current_);
      if (!stub.ok()) return stub.status();
      Response response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() + each);
      grpc::Status rpc = ((*stub)->*method)(&context, request, &response);
      last = Check(rpc);
      if (last.ok()) return response;
      const bool elsewhere = rpc.error_code() == grpc::StatusCode::UNAVAILABLE ||
                             rpc.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
      if (!elsewhere) return last;
      current_ = (current_ + 1) % addresses_.size();
    }
    return last;
  }

  static constexpr std::chrono::milliseconds kPerCoordinatorTimeout{2500};
  std::string address_;
  std::vector<std::string> addresses_;
  std::vector<std::unique_ptr<proto::JobService::Stub>> stubs_;
  size_t current_ = 0;
};

// "created", "running", ...: the user-facing name of a job state.
std::string JobStateName(proto::JobState state);
std::string TaskStateName(proto::TaskState state);

// The coordinator address: the flag if given, else $SLUICE_COORDINATOR, else 127.0.0.1:7070.
std::string CoordinatorAddress(const std::string& flag);

}  // namespace sluice::cli
