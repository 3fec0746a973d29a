#include "coordinator/coordinator_services.h"

#include <spdlog/spdlog.h>

#include "common/grpc_util.h"
#include "coordinator/coordinator_node.h"

namespace sluice::coordinator {
namespace {

// Every call, from clients and workers alike, must carry the cluster token.
grpc::Status CheckToken(const grpc::ServerContext* context, const CoordinatorNode& node) {
  grpc::Status checked = CheckCaller(*context, node.security().token, "the coordinator");
  if (!checked.ok())
    spdlog::warn("refused a call from {}: {}", context->peer(), checked.error_message());
  return checked;
}

class JobServiceImpl final : public proto::JobService::Service {
 public:
  explicit JobServiceImpl(CoordinatorNode& node) : node_(node) {}
  grpc::Status SubmitJob(grpc::ServerContext* context, const proto::SubmitJobRequest* request,
                         proto::SubmitJobResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status leader = node_.CheckLeader(); !leader.ok()) return ToGrpc(leader);
    Status fits = CheckSpecSize(request->spec(), node_.max_spec_bytes());
    if (!fits.ok()) return ToGrpc(fits);
    *response = node_.Submit(request->spec());
    return grpc::Status::OK;
  }
  grpc::Status GetJob(grpc::ServerContext* context, const proto::GetJobRequest* request,
                      proto::JobInfo* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    auto info = node_.GetJob(JobId(request->job_id()));
    if (!info.ok()) return ToGrpc(info.status());
    *response = std::move(info).value();
    return grpc::Status::OK;
  }
  grpc::Status ListJobs(grpc::ServerContext* context, const proto::ListJobsRequest*,
                        proto::ListJobsResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    *response = node_.ListJobs();
    return grpc::Status::OK;
  }
  grpc::Status CancelJob(grpc::ServerContext* context, const proto::CancelJobRequest* request,
                         proto::JobInfo* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status leader = node_.CheckLeader(); !leader.ok()) return ToGrpc(leader);
    auto info = node_.CancelJob(JobId(request->job_id()));
    if (!info.ok()) return ToGrpc(info.status());
    *response = std::move(info).value();
    return grpc::Status::OK;
  }
  grpc::Status GetResults(grpc::ServerContext* context, const proto::GetResultsRequest* request,
                          proto::GetResultsResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status leader = node_.CheckLeader(); !leader.ok()) return ToGrpc(leader);
    auto results = node_.GetResults(*request);
    if (!results.ok()) return ToGrpc(results.status());
    *response = std::move(results).value();
    return grpc::Status::OK;
  }
  grpc::Status ListWorkers(grpc::ServerContext* context, const proto::ListWorkersRequest*,
                           proto::ListWorkersResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status leader = node_.CheckLeader(); !leader.ok()) return ToGrpc(leader);
    *response = node_.ListWorkers();
    return grpc::Status::OK;
  }
  grpc::Status TriggerSavepoint(grpc::ServerContext* context,
                                const proto::TriggerSavepointRequest* request,
                                proto::TriggerSavepointResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status leader = node_.CheckLeader(); !leader.ok()) return ToGrpc(leader);
    auto savepoint = node_.TriggerSavepoint(*request, std::chrono::minutes(2));
    if (!savepoint.ok()) return ToGrpc(savepoint.status());
    *response = std::move(savepoint).value();
    return grpc::Status::OK;
  }

 private:
  CoordinatorNode& node_;
};

class ClusterServiceImpl final : public proto::ClusterService::Service {
 public:
  explicit ClusterServiceImpl(CoordinatorNode& node) : node_(node) {}
  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const proto::RegisterWorkerRequest* request,
                              proto::RegisterWorkerResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status fenced = node_.CheckWorkerCall(request->coordinator_epoch()); !fenced.ok()) {
      return ToGrpc(fenced);
    }
    auto registered = node_.RegisterWorker(*request);
    if (!registered.ok()) return ToGrpc(registered.status());
    *response = std::move(registered).value();
    return grpc::Status::OK;
  }
  grpc::Status DeregisterWorker(grpc::ServerContext* context,
                                const proto::DeregisterWorkerRequest* request,
                                proto::DeregisterWorkerResponse*) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status leader = node_.CheckLeader(); !leader.ok()) return ToGrpc(leader);
    node_.DeregisterWorker(*request);
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext* context, const proto::HeartbeatRequest* request,
                         proto::HeartbeatResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status fenced = node_.CheckWorkerCall(request->coordinator_epoch()); !fenced.ok()) {
      return ToGrpc(fenced);
    }
    *response = node_.Heartbeat(*request);
    return grpc::Status::OK;
  }
  grpc::Status ReportTask(grpc::ServerContext* context, const proto::ReportTaskRequest* request,
                          proto::ReportTaskResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status fenced = node_.CheckWorkerCall(request->coordinator_epoch()); !fenced.ok()) {
      return ToGrpc(fenced);
    }
    node_.ReportTask(*request);
    response->set_coordinator_epoch(node_.epoch());
    return grpc::Status::OK;
  }
  grpc::Status PushResults(grpc::ServerContext* context, const proto::PushResultsRequest* request,
                           proto::PushResultsResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status fenced = node_.CheckWorkerCall(request->coordinator_epoch()); !fenced.ok()) {
      return ToGrpc(fenced);
    }
    response->set_coordinator_epoch(node_.epoch());
    return ToGrpc(node_.PushResults(*request));
  }
  grpc::Status AcknowledgeCheckpoint(grpc::ServerContext* context,
                                     const proto::AcknowledgeCheckpointRequest* request,
                                     proto::AcknowledgeCheckpointResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status fenced = node_.CheckWorkerCall(request->coordinator_epoch()); !fenced.ok()) {
      return ToGrpc(fenced);
    }
    node_.AcknowledgeCheckpoint(*request);
    response->set_coordinator_epoch(node_.epoch());
    return grpc::Status::OK;
  }
  grpc::Status DeclineCheckpoint(grpc::ServerContext* context,
                                 const proto::DeclineCheckpointRequest* request,
                                 proto::DeclineCheckpointResponse* response) override {
    if (grpc::Status caller = CheckToken(context, node_); !caller.ok()) return caller;
    if (Status fenced = node_.CheckWorkerCall(request->coordinator_epoch()); !fenced.ok()) {
      return ToGrpc(fenced);
    }
    node_.DeclineCheckpoint(*request);
    response->set_coordinator_epoch(node_.epoch());
    return grpc::Status::OK;
  }

 private:
  CoordinatorNode& node_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeJobService(CoordinatorNode& node) {
  return std::make_unique<JobServiceImpl>(node);
}

std::unique_ptr<grpc::Service> MakeClusterService(CoordinatorNode& node) {
  return std::make_unique<ClusterServiceImpl>(node);
}

}  // namespace sluice::coordinator
