// The coordinator's side of its workers: registration, heartbeats, task reports, cancels,
// leaving and lost workers (the liveness loop). Part of CoordinatorNode (coordinator_node.h);
// the job side is in coordinator_node.cc.
#include <spdlog/spdlog.h>

#include <set>

#include "common/grpc_util.h"
#include "common/net_address.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/coordinator_records.h"
#include "coordinator/job_lifecycle.h"

namespace sluice::coordinator {

using internal::IsTaskTerminal;
using internal::NowMs;

Result<proto::RegisterWorkerResponse> CoordinatorNode::RegisterWorker(
    const proto::RegisterWorkerRequest& request) {
  // On a one-host cluster (this coordinator on loopback) loopback addresses are fine; otherwise
  // tasks on other hosts and this coordinator could not reach the worker.
  if (!IsLoopbackHost(HostOf(options_.listen)) && !IsReachableFromOtherHosts(request.address())) {
    spdlog::warn("refused worker {}: address {} is not reachable from other hosts",
                 request.name(), request.address());
    return Status::FailedPrecondition(
        "worker " + request.name() + " registered with address " + request.address() +
        ", which other hosts cannot reach (loopback or wildcard) while the coordinator listens on " +
        options_.listen + ": start the worker with --advertise HOST[:PORT] (or SLUICE_ADVERTISE) " +
        "naming an address the coordinator and the other workers can reach, or --listen on such "
        "an address");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto worker = std::make_unique<WorkerRecord>();
  worker->id = WorkerId("worker-" + std::to_string(next_worker_++));
  worker->address = request.address();
  worker->name = request.name();
  worker->slots = request.slots();
  worker->last_seen = Clock::now();
  worker->stub = proto::WorkerService::NewStub(MakeChannel(request.address(), options_.security));
  spdlog::info("worker {} registered: {} ({}), {} slots", worker->id.str(), request.address(),
               request.name(), request.slots());
  proto::RegisterWorkerResponse response;
  response.set_coordinator_epoch(epoch_);
  response.set_worker_id(worker->id.str());
  response.set_heartbeat_interval_ms(options_.heartbeat_interval_ms);
  workers_[worker->id] = std::move(worker);
  return response;
}

proto::HeartbeatResponse CoordinatorNode::Heartbeat(const proto::HeartbeatRequest& request) {
  std::vector<std::pair<std::string, TaskId>> to_cancel;
  proto::HeartbeatResponse response;
  response.set_coordinator_epoch(epoch_);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = workers_.find(WorkerId(request.worker_id()));
    // A worker that registered with an earlier coordinator may carry an id this one has since
    // given to another worker: only one that registered with this epoch is known.
    const bool known = it != workers_.end() && request.coordinator_epoch() == epoch_;
    response.set_known(known);
    if (!known) return response;
    WorkerRecord& worker = *it->second;
    worker.last_seen = Clock::now();
    ++worker.heartbeats;
    worker.running_reported = 0;
    for (const auto& status : request.tasks()) {
      auto job = jobs_.find(JobId(status.job_id()));
      if (job != jobs_.end()) ApplyTaskStatus(*job->second, status, &to_cancel);
      if (IsTaskTerminal(status.state())) continue;
      ++worker.running_reported;
      // E.g. a task of a job that was running when this coordinator restarted.
      if (!HoldsLiveLocked(JobId(status.job_id()), TaskId(status.task_id()))) {
        spdlog::info(
            "worker {} runs task {} of job {}, which is not live "
            "here; cancelling it",
            worker.id.str(), status.task_id(), status.job_id());
        to_cancel.emplace_back(worker.address, TaskId(status.task_id()));
      }
    }
  }
  SendCancels(to_cancel);
  return response;
}

void CoordinatorNode::ReportTask(const proto::ReportTaskRequest& request) {
  std::vector<std::pair<std::string, TaskId>> to_cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto job = jobs_.find(JobId(request.status().job_id()));
    if (job != jobs_.end()) ApplyTaskStatus(*job->second, request.status(), &to_cancel);
  }
  SendCancels(to_cancel);
}

void CoordinatorNode::SendCancels(const std::vector<std::pair<std::string, TaskId>>& to_cancel) {
  for (const auto& [address, task_id] : to_cancel) {
    auto stub = proto::WorkerService::NewStub(MakeChannel(address, options_.security));
    proto::CancelTaskRequest request;
    request.set_task_id(task_id.str());
    request.set_coordinator_epoch(epoch_);
    proto::CancelTaskResponse response;
    grpc::ClientContext context;
    SetDeadline(context, std::chrono::seconds(2));
    grpc::Status rpc = stub->CancelTask(&context, request, &response);
    if (!rpc.ok()) {
      spdlog::warn("cannot cancel task {} on worker {}: {}", task_id.str(), address,
                   rpc.error_message());
    }
  }
}

void CoordinatorNode::DeregisterWorker(const proto::DeregisterWorkerRequest& request) {
  CancelList to_cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = workers_.find(WorkerId(request.worker_id()));
    if (it == workers_.end()) return;
    spdlog::info("worker {} ({}) is leaving: {}; its tasks restart elsewhere", request.worker_id(),
                 it->second->address, request.reason());
    RemoveWorkerLocked(it->first, "left (" + request.reason() + ")", &to_cancel);
  }
  SendCancels(to_cancel);
}

void CoordinatorNode::RemoveWorkerLocked(const WorkerId& lost, const std::string& how,
                                         CancelList* to_cancel) {
  auto it = workers_.find(lost);
  if (it == workers_.end()) return;
  std::set<JobId> affected;
  for (const auto& [task_id, job_id] : it->second->tasks) affected.insert(job_id);
  workers_.erase(it);
  for (const auto& job_id : affected) {
    auto job = jobs_.find(job_id);
    if (job == jobs_.end()) continue;
    ApplyTransition(*job->second, job->second->tracker.OnWorkerLost(lost, how), to_cancel);
  }
}

void CoordinatorNode::LivenessLoop() {
  while (true) {
    std::vector<std::pair<std::string, TaskId>> to_cancel;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(100), [&] {
        return stopping_ || !checkpoint_calls_.empty() || !directories_to_delete_.empty();
      });
      if (stopping_) return;
      if (!leading_) continue;
      if (store_ != nullptr && store_->Deposed()) StepDown("its etcd lease expired");
      TickCheckpointsLocked(NowMs());
      auto now = Clock::now();
      for (auto it = workers_.begin(); it != workers_.end();) {
        WorkerRecord& worker = *it->second;
        auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(now - worker.last_seen);
        if (silent.count() < options_.worker_timeout_ms) {
          ++it;
          continue;
        }
        spdlog::warn("worker {} ({}) stopped responding: no heartbeat for {} ms", worker.id.str(),
                     worker.address, silent.count());
        WorkerId lost = worker.id;
        ++it;
        RemoveWorkerLocked(lost, "was lost", &to_cancel);
      }
    }
    SendCancels(to_cancel);
    SendCheckpointCalls();
    RestartDueJobs();
  }
}

}  // namespace sluice::coordinator
