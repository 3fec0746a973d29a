#include "worker/worker_node.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/grpc_util.h"
#include "common/net_address.h"

namespace sluice::worker {
namespace {

std::vector<std::string> SplitAddresses(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    std::string one = list.substr(start, comma - start);
    if (!one.empty()) out.push_back(one);
    start = comma + 1;
  }
  if (out.empty()) out.push_back(list);
  return out;
}

}  // namespace

WorkerNode::WorkerNode(WorkerOptions options, js::ChainRunnerFactory& engine)
    : options_(std::move(options)), engine_(engine) {
  if (options_.metrics != nullptr) {
    metrics_collector_ =
        options_.metrics->AddCollector([this](MetricsWriter& w) { CollectMetrics(w); });
  }
}

WorkerNode::~WorkerNode() {
  if (options_.metrics != nullptr) options_.metrics->RemoveCollector(metrics_collector_);
  Shutdown();
}

void WorkerNode::CollectMetrics(MetricsWriter& writer) const {
  std::lock_guard<std::mutex> lock(mutex_);
  writer.Gauge("sluice_worker_slots", "Task slots this worker offers.", {}, options_.slots);
  double running = 0;
  for (const auto& [id, task] : tasks_) {
    proto::TaskStatus status = task->Snapshot();
    running += task->ended() ? 0 : 1;
    MetricLabels labels = {{"job", status.job_id()}, {"task", status.task_id()}};
    writer.Counter("sluice_task_records_in_total", "Records that entered the task's chain.", labels,
                   static_cast<double>(status.records_in()));
    writer.Counter("sluice_task_records_out_total", "Records that left the task's chain.", labels,
                   static_cast<double>(status.records_out()));
    writer.Counter("sluice_task_exchange_bytes_sent_total",
                   "Bytes the task sent to downstream tasks.", labels,
                   static_cast<double>(task->exchange_bytes_sent()));
    writer.Counter("sluice_task_late_records_dropped_total",
                   "Records the task's windows dropped because they came too late.", labels,
                   static_cast<double>(task->late_dropped()));
    writer.Counter("sluice_task_late_records_side_output_total",
                   "Late records the task's windows sent to their late side output.", labels,
                   static_cast<double>(task->late_side_output()));
    writer.Counter("sluice_task_connector_retries_total",
                   "Times the task's connectors retried an endpoint they could not reach.", labels,
                   static_cast<double>(status.connector_retries()));
    writer.Counter("sluice_task_backpressured_seconds_total",
                   "Time the task waited for room in the inboxes of the tasks it sends to.", labels,
                   static_cast<double>(status.backpressured_ms()) / 1000.0);
    // Finite watermarks only: before the first there is none, at the end of input it is +inf.
    if (status.has_watermark() && status.watermark() != js::kMaxWatermark) {
      writer.Gauge("sluice_task_watermark_ms", "The task's output watermark (event time, epoch ms).",
                   labels, static_cast<double>(status.watermark()));
    }
    writer.Gauge("sluice_task_connector_healthy",
                 "1 while the task's connectors reach their endpoints, 0 while retrying.", labels,
                 status.detail().empty() ? 1 : 0);
    if (const auto& inbox = task->inbox(); inbox != nullptr) {
      writer.Gauge("sluice_task_inbox_batches", "Batches waiting in the task's input queue.",
                   labels, static_cast<double>(inbox->queued()));
      writer.Gauge("sluice_task_inbox_bytes", "Bytes waiting in the task's input queue.", labels,
                   static_cast<double>(inbox->queued_bytes()));
      writer.Gauge("sluice_task_inbox_capacity_bytes",
                   "The task's input queue room now (its share of the worker's inbox budget).",
                   labels, static_cast<double>(inbox->capacity_bytes()));
      writer.Counter("sluice_task_backpressure_seconds_total",
                     "Time upstream channels waited for room in this task's input queue.", labels,
                     std::chrono::duration<double>(inbox->blocked_time()).count());
    }
  }
  writer.Gauge("sluice_worker_tasks_running", "Tasks running on this worker.", {}, running);
}

WorkerId WorkerNode::id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return worker_id_;
}

Status WorkerNode::Start() {
  SLUICE_RETURN_IF_ERROR(
      CheckListenSecurity(options_.listen, options_.security, options_.insecure, "the worker"));
  auto reach = runtime::FileReach::Make(options_.allow_paths);
  if (!reach.ok()) return reach.status();
  file_reach_ = std::move(reach).value();
  auto started =
      StartServer(options_.listen, {this, &exchange_service_}, "worker", options_.security);
  if (!started.ok()) return started.status();
  server_ = std::move(started->server);
  auto advertised = AdvertisedAddress(
      HostOf(options_.listen) + ":" + std::to_string(started->port), options_.advertise);
  if (!advertised.ok()) return advertised.status();
  address_ = std::move(advertised).value();
  coordinators_ = SplitAddresses(options_.coordinator);
  coordinator_ =
      proto::ClusterService::NewStub(MakeChannel(coordinators_[0], options_.security));

  // Register, retrying with backoff: a worker may start before its coordinator.
  auto backoff = std::chrono::milliseconds(100);
  while (true) {
    Status st = Register();
    if (st.ok()) break;
    // The coordinator answered and said no (e.g. an address other hosts cannot reach, or a
    // wrong or missing token): waiting does not make it better.
    if (st.code() == StatusCode::kFailedPrecondition ||
        st.code() == StatusCode::kUnauthenticated) {
      return st;
    }
    spdlog::warn("worker at {}: {} (retrying)", address_, st.message());
    NextCoordinator();
    std::unique_lock<std::mutex> lock(mutex_);
    if (cv_.wait_for(lock, backoff, [&] { return stopping_; })) {
      return Status::Cancelled("worker stopped before it could register");
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_) return Status::Cancelled("worker stopped while it registered");
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  tap_ = std::make_unique<OutputTap>(
      [this](const JobId& job, std::vector<std::string> records, uint64_t dropped) {
        proto::PushResultsRequest request;
        request.set_job_id(job.str());
        request.set_watch_only(true);
        request.set_dropped(dropped);
        for (auto& record : records) request.add_records(std::move(record));
        proto::PushResultsResponse response;
        grpc::ClientContext context;
        SetDeadline(context, kRpcTimeout);
        (void)coordinator_->PushResults(&context, request, &response);  // best effort
      });
  tap_->Start();
  return Status::Ok();
}

void WorkerNode::Watch(const JobId& job, std::string_view json_lines) {
  if (tap_ != nullptr) tap_->Add(job, json_lines);
}

Status WorkerNode::Health() const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (stopping_ || left_) return Status::Unavailable("worker is shutting down");
  return Status::Ok();
}

Status WorkerNode::Readiness() const {
  SLUICE_RETURN_IF_ERROR(Health());
  std::lock_guard<std::mutex> lock(mutex_);
  if (!registered_) {
    return Status::Unavailable("not registered with coordinator " + options_.coordinator);
  }
  if (coordinator_lost_) {
    return Status::Unavailable("coordinator " + options_.coordinator +
                               " does not answer heartbeats");
  }
  return Status::Ok();
}

void WorkerNode::Shutdown() {
  std::map<TaskId, std::unique_ptr<runtime::Task>> tasks;
  std::thread heartbeat;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    tasks.swap(tasks_);
    heartbeat.swap(heartbeat_thread_);
  }
  cv_.notify_all();
  for (auto& [id, task] : tasks) task->Cancel();
  if (heartbeat.joinable()) heartbeat.join();  // before the tasks go: it may be cancelling one
  tasks.clear();                               // joins
  if (tap_ != nullptr) tap_->Stop();
  peers_.Shutdown();
  exchange_service_.Shutdown();  // ends the streams from other workers
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
}

void WorkerNode::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return stopping_; });
}

grpc::Status WorkerNode::CheckToken(const grpc::ServerContext* context) const {
  grpc::Status checked = CheckCaller(*context, options_.security.token, "worker " + address_);
  if (!checked.ok())
    spdlog::warn("refused a call from {}: {}", context->peer(), checked.error_message());
  return checked;
}

grpc::Status WorkerNode::DeployTask(grpc::ServerContext* context,
                                    const proto::DeployTaskRequest* request,
                                    proto::DeployTaskResponse*) {
  if (grpc::Status caller = CheckToken(context); !caller.ok()) return caller;
  TaskId id(request->task().task_id());
  runtime::TaskServices services;
  services.engine = &engine_;
  services.pusher = this;
  services.stdout_file = options_.stdout_file;
  services.on_ended = [this](const TaskId& task, proto::TaskState state,
                             const std::string& failure) { OnTaskEnded(task, state, failure); };
  services.on_health_changed = [this] { ReportSoon(); };
  services.router = &router_;
  services.self_address = address_;
  services.peers = &peers_;
  services.checkpoints = this;
  services.limits = options_.limits;
  services.file_reach = &file_reach_;
  services.driver_dir = options_.driver_dir;
  services.state_dir = options_.state_dir.empty()
                           ? "/tmp/sluice-state-" + std::to_string(::getpid())
                           : options_.state_dir;
  if (request->task().input_channels() > 0) {
    services.inbox = std::make_shared<exchange::Inbox>(id, request->task().input_channels(),
                                                       inbox_budget_);
  }
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) return ToGrpc(Status::Unavailable("worker is shutting down"));
  if (Status fenced = AcceptEpochLocked(request->coordinator_epoch(), "DeployTask"); !fenced.ok()) {
    return ToGrpc(fenced);
  }
  if (tasks_.count(id) != 0) {
    return ToGrpc(Status::FailedPrecondition("task " + id.str() + " is already deployed"));
  }
  // Tasks being cancelled (a job restarting) free their slots in a moment: wait for that.
  auto running = [&] {
    size_t n = 0;
    for (const auto& [task_id, task] : tasks_) n += task->ended() ? 0 : 1;
    return n;
  };
  cv_.wait_for(lock, std::chrono::seconds(3),
               [&] { return stopping_ || running() < options_.slots; });
  if (running() >= options_.slots) {
    return ToGrpc(Status(StatusCode::kResourceExhausted, ErrorDomain::kUser,
                         "worker " + address_ + " has no free slot for task " + id.str()));
  }
  if (services.inbox != nullptr) router_.Register(services.inbox);
  auto task = std::make_unique<runtime::Task>(request->task(), std::move(services));
  // The wait above released the lock: a newer epoch may have taken over meanwhile.
  if (Status fenced = AcceptEpochLocked(request->coordinator_epoch(), "DeployTask"); !fenced.ok()) {
    if (services.inbox != nullptr) router_.Unregister(id);
    return ToGrpc(fenced);
  }
  task->Start();
  tasks_[id] = std::move(task);
  fence_.Deployed(id, request->coordinator_epoch());
  spdlog::debug("deployed task {}", id.str());
  return grpc::Status::OK;
}

grpc::Status WorkerNode::CancelTask(grpc::ServerContext* context,
                                    const proto::CancelTaskRequest* request,
                                    proto::CancelTaskResponse*) {
  if (grpc::Status caller = CheckToken(context); !caller.ok()) return caller;
  std::lock_guard<std::mutex> lock(mutex_);
  if (Status fenced = AcceptEpochLocked(request->coordinator_epoch(), "CancelTask"); !fenced.ok()) {
    return ToGrpc(fenced);
  }
  auto it = tasks_.find(TaskId(request->task_id()));
  if (it != tasks_.end()) it->second->Cancel();
  return grpc::Status::OK;
}

grpc::Status WorkerNode::TriggerCheckpoint(grpc::ServerContext* context,
                                           const proto::TriggerCheckpointRequest* request,
                                           proto::TriggerCheckpointResponse*) {
  if (grpc::Status caller = CheckToken(context); !caller.ok()) return caller;
  std::lock_guard<std::mutex> lock(mutex_);
  if (Status fenced = AcceptEpochLocked(request->coordinator_epoch(), "TriggerCheckpoint");
      !fenced.ok()) {
    return ToGrpc(fenced);
  }
  auto it = tasks_.find(TaskId(request->task_id()));
  if (it == tasks_.end() || it->second->ended()) {
    return ToGrpc(Status::NotFound("task " + request->task_id() + " is not running on worker " +
                                   address_));
  }
  it->second->TriggerCheckpoint(request->checkpoint_id());
  return grpc::Status::OK;
}

grpc::Status WorkerNode::NotifyCheckpointComplete(
    grpc::ServerContext* context, const proto::NotifyCheckpointCompleteRequest* request,
    proto::NotifyCheckpointCompleteResponse*) {
  if (grpc::Status caller = CheckToken(context); !caller.ok()) return caller;
  std::lock_guard<std::mutex> lock(mutex_);
  if (Status fenced = AcceptEpochLocked(request->coordinator_epoch(), "NotifyCheckpointComplete");
      !fenced.ok()) {
    return ToGrpc(fenced);
  }
  auto it = tasks_.find(TaskId(request->task_id()));
  if (it == tasks_.end()) return grpc::Status::OK;
  // A sink commits only what the epoch that deployed it says is complete.
  if (Status from = fence_.MayNotify(it->first, request->coordinator_epoch()); !from.ok()) {
    return ToGrpc(from);
  }
  it->second->NotifyCheckpointComplete(request->checkpoint_id());
  return grpc::Status::OK;
}

}  // namespace sluice::worker
