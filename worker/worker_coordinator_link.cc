// The worker's side of the coordinator: registering, heartbeats and fencing, task ends and
// results, checkpoint acknowledgements, leaving. Part of WorkerNode (worker_node.h); serving
// tasks is in worker_node.cc.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/grpc_util.h"
#include "worker/worker_node.h"

namespace sluice::worker {

std::shared_ptr<proto::ClusterService::Stub> WorkerNode::Coordinator(std::string* address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (address != nullptr) *address = coordinators_[coordinator_index_];
  return coordinator_;
}

void WorkerNode::NextCoordinator() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (coordinators_.size() < 2) return;
  coordinator_index_ = (coordinator_index_ + 1) % coordinators_.size();
  coordinator_ = proto::ClusterService::NewStub(
      MakeChannel(coordinators_[coordinator_index_], options_.security));
}

Status WorkerNode::AcceptEpochLocked(uint64_t epoch, const char* call) {
  fence_.set_worker(address_);
  std::vector<TaskId> superseded;
  SLUICE_RETURN_IF_ERROR(fence_.Accept(epoch, call, &superseded));
  // Cancelled by the heartbeat thread, outside this lock (a task's Cancel() may wait for its
  // thread, which may be waiting for this lock).
  for (const TaskId& id : superseded) {
    auto task = tasks_.find(id);
    if (task == tasks_.end() || task->second->ended()) continue;
    spdlog::info("cancelling task {}: deployed by an older coordinator epoch than {}", id.str(),
                 epoch);
    fenced_tasks_.push_back(id);
  }
  if (!fenced_tasks_.empty()) cv_.notify_all();
  return Status::Ok();
}

void WorkerNode::CancelFencedTasks() {
  std::vector<runtime::Task*> to_cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const TaskId& id : fenced_tasks_) {
      auto it = tasks_.find(id);
      if (it != tasks_.end()) to_cancel.push_back(it->second.get());
    }
    fenced_tasks_.clear();
  }
  // Only this (the heartbeat) thread reaps tasks, and Shutdown joins it before it destroys
  // them, so the pointers stay valid.
  for (runtime::Task* task : to_cancel) task->Cancel();
}

Status WorkerNode::Register() {
  proto::RegisterWorkerRequest request;
  request.set_address(address_);
  request.set_slots(options_.slots);
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  request.set_name(std::string(host) + ":" + std::to_string(getpid()));
  std::string address;
  auto coordinator = Coordinator(&address);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    request.set_coordinator_epoch(fence_.epoch());
  }
  proto::RegisterWorkerResponse response;
  grpc::ClientContext context;
  SetDeadline(context, std::chrono::seconds(5));
  grpc::Status rpc = coordinator->RegisterWorker(&context, request, &response);
  if (!rpc.ok()) return FromGrpc(rpc, "coordinator " + address);
  std::lock_guard<std::mutex> lock(mutex_);
  // An older coordinator (a deposed leader): look for the current one.
  if (Status fenced = AcceptEpochLocked(response.coordinator_epoch(), "a registration");
      !fenced.ok()) {
    return Status::Unavailable(fenced.message());
  }
  worker_id_ = WorkerId(response.worker_id());
  registered_ = true;
  if (response.heartbeat_interval_ms() > 0) {
    heartbeat_interval_ms_ = response.heartbeat_interval_ms();
  }
  spdlog::info("worker {} registered at {} with {} slots (coordinator {}, epoch {})",
               worker_id_.str(), address_, options_.slots, address, fence_.epoch());
  return Status::Ok();
}

Status WorkerNode::Leave(const std::string& reason) {
  proto::DeregisterWorkerRequest request;
  std::shared_ptr<proto::ClusterService::Stub> coordinator;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!registered_ || coordinator_ == nullptr) return Status::Ok();
    coordinator = coordinator_;
    request.set_worker_id(worker_id_.str());
    registered_ = false;
    left_ = true;  // and stays gone: no registering again from the heartbeat thread
  }
  request.set_reason(reason);
  proto::DeregisterWorkerResponse response;
  grpc::ClientContext context;
  SetDeadline(context, std::chrono::seconds(2));
  Status left = FromGrpc(coordinator->DeregisterWorker(&context, request, &response),
                         "coordinator " + options_.coordinator);
  if (left.ok()) spdlog::info("worker {} left coordinator {}", request.worker_id(), options_.coordinator);
  return left;
}

void WorkerNode::Acknowledge(const JobId& job, uint64_t checkpoint,
                             const proto::TaskSnapshot& snapshot) {
  proto::AcknowledgeCheckpointRequest request;
  request.set_worker_id(id().str());
  request.set_job_id(job.str());
  request.set_checkpoint_id(checkpoint);
  *request.mutable_snapshot() = snapshot;
  std::string address;
  auto coordinator = Coordinator(&address);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    request.set_coordinator_epoch(fence_.epoch());
  }
  proto::AcknowledgeCheckpointResponse response;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  grpc::Status rpc = coordinator->AcknowledgeCheckpoint(&context, request, &response);
  if (!rpc.ok()) {
    spdlog::warn("task {}: cannot acknowledge checkpoint {} to coordinator {}: {}",
                 snapshot.task_id(), checkpoint, address, rpc.error_message());
  }
}

void WorkerNode::Decline(const JobId& job, const TaskId& task, uint64_t checkpoint,
                         const std::string& reason) {
  proto::DeclineCheckpointRequest request;
  request.set_worker_id(id().str());
  request.set_job_id(job.str());
  request.set_task_id(task.str());
  request.set_checkpoint_id(checkpoint);
  request.set_reason(reason);
  auto coordinator = Coordinator();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    request.set_coordinator_epoch(fence_.epoch());
  }
  proto::DeclineCheckpointResponse response;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  (void)coordinator->DeclineCheckpoint(&context, request, &response);
}

Status WorkerNode::Push(const JobId& job, const TaskId& task, std::vector<std::string> records) {
  proto::PushResultsRequest request;
  request.set_job_id(job.str());
  request.set_task_id(task.str());
  for (auto& record : records) request.add_records(std::move(record));
  std::string address;
  auto coordinator = Coordinator(&address);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    request.set_coordinator_epoch(fence_.epoch());
  }
  proto::PushResultsResponse response;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  return FromGrpc(coordinator->PushResults(&context, request, &response),
                  "coordinator " + address);
}

void WorkerNode::OnTaskEnded(const TaskId& task, proto::TaskState state,
                             const std::string& failure) {
  proto::ReportTaskRequest request;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    request.set_worker_id(worker_id_.str());
    request.set_coordinator_epoch(fence_.epoch());
    auto it = tasks_.find(task);
    if (it != tasks_.end()) *request.mutable_status() = it->second->Snapshot();
  }
  request.mutable_status()->set_task_id(task.str());
  request.mutable_status()->set_state(state);
  request.mutable_status()->set_failure(failure);
  proto::ReportTaskResponse response;
  grpc::ClientContext context;
  SetDeadline(context, kRpcTimeout);
  bool reported = Coordinator()->ReportTask(&context, request, &response).ok();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (tasks_.count(task) != 0) end_reported_[task] = end_reported_[task] || reported;
  }
  cv_.notify_all();  // a deploy may be waiting for this slot
}

void WorkerNode::ReapEndedTasks() {
  std::vector<std::unique_ptr<runtime::Task>> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = end_reported_.begin(); it != end_reported_.end();) {
      auto task = tasks_.find(it->first);
      if (it->second && task != tasks_.end() && task->second->ended()) {
        router_.Unregister(task->first);
        fence_.Forget(task->first);
        done.push_back(std::move(task->second));
        tasks_.erase(task);
        it = end_reported_.erase(it);
      } else {
        ++it;
      }
    }
  }
  done.clear();  // joins outside the lock
}

void WorkerNode::CancelOrphansIfCoordinatorLost() {
  auto silent = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - last_heartbeat_ack_);
  if (silent.count() < options_.coordinator_timeout_ms) return;
  // Nobody will hear how these tasks end, and a restarted coordinator fails their jobs anyway:
  // stop them rather than let them run (and write to sinks) on their own.
  std::lock_guard<std::mutex> lock(mutex_);
  coordinator_lost_ = true;
  for (const auto& [id, task] : tasks_) {
    if (task->ended()) continue;
    spdlog::warn("no answer from coordinator {} for {} ms; cancelling task {}",
                 options_.coordinator, silent.count(), id.str());
    task->Cancel();
  }
}

void WorkerNode::ReportSoon() {
  report_soon_.store(true);
  cv_.notify_all();  // without the lock: a wake-up lost to a race costs one interval at most
}

void WorkerNode::HeartbeatLoop() {
  last_heartbeat_ack_ = std::chrono::steady_clock::now();
  while (true) {
    proto::HeartbeatRequest request;
    std::vector<TaskId> ended;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait_for(lock, std::chrono::milliseconds(heartbeat_interval_ms_), [&] {
        return stopping_ || !fenced_tasks_.empty() || report_soon_.exchange(false);
      });
      if (stopping_) return;
      if (!fenced_tasks_.empty()) {
        lock.unlock();
        CancelFencedTasks();
        continue;
      }
      request.set_worker_id(worker_id_.str());
      request.set_coordinator_epoch(fence_.epoch());
      for (const auto& [id, task] : tasks_) {
        *request.add_tasks() = task->Snapshot();
        if (task->ended()) ended.push_back(id);
      }
    }
    std::string address;
    auto coordinator = Coordinator(&address);
    proto::HeartbeatResponse response;
    grpc::ClientContext context;
    // Short with standbys, so a dead leader is left behind within a heartbeat or two.
    SetDeadline(context, coordinators_.size() > 1 ? std::chrono::milliseconds(1500)
                                                  : std::chrono::milliseconds(5000));
    grpc::Status rpc = coordinator->Heartbeat(&context, request, &response);
    Status fenced = Status::Ok();
    if (rpc.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      fenced = AcceptEpochLocked(response.coordinator_epoch(), "a heartbeat reply");
    }
    if (!rpc.ok() || !fenced.ok()) {
      spdlog::warn("heartbeat to coordinator {} failed: {}", address,
                   rpc.ok() ? fenced.message() : rpc.error_message());
      CancelOrphansIfCoordinatorLost();
      NextCoordinator();
      continue;
    }
    last_heartbeat_ack_ = std::chrono::steady_clock::now();
    {
      // The heartbeat carried the final state of these tasks.
      std::lock_guard<std::mutex> lock(mutex_);
      coordinator_lost_ = false;
      for (const auto& id : ended) {
        if (tasks_.count(id) != 0) end_reported_[id] = true;
      }
    }
    bool left = false;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      left = left_;
    }
    if (!response.known() && !left) {
      spdlog::info("coordinator {} does not know this worker; registering again", address);
      Register().IgnoreError();
    }
    CancelFencedTasks();
    ReapEndedTasks();
  }
}

}  // namespace sluice::worker
