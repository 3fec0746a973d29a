#include "coordinator/coordinator_node.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/grpc_util.h"
#include "common/net_address.h"
#include "coordinator/coordinator_records.h"
#include "coordinator/coordinator_services.h"
#include "coordinator/job_lifecycle.h"
#include "coordinator/limit_checks.h"
#include "coordinator/planner.h"
#include "coordinator/routing.h"
#include "coordinator/scheduler.h"

namespace sluice::coordinator {

using internal::IsTaskTerminal;
using internal::NowMs;

CoordinatorNode::CoordinatorNode(CoordinatorOptions options, FunctionChecker check,
                                 std::unique_ptr<JobStore> store)
    : options_(std::move(options)),
      check_(std::move(check)),
      store_(std::move(store)),
      checkpoint_store_(std::make_unique<CheckpointStore>()) {
  if (options_.checkpoint_dir.empty()) options_.checkpoint_dir = "/tmp/sluice-checkpoints";
}

CoordinatorNode::~CoordinatorNode() { Shutdown(); }

Status CoordinatorNode::Start() {
  SLUICE_RETURN_IF_ERROR(CheckListenSecurity(options_.listen, options_.security, options_.insecure,
                                             "the coordinator"));
  const bool elects = store_ != nullptr && store_->ElectsLeader();
  if (store_ == nullptr) {
    // Nothing persists: the wall clock in seconds keeps a restarted coordinator's epoch above
    // its predecessor's (fencing needs a data dir or --ha to be exact).
    epoch_ = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    leading_ = true;
  } else if (!elects) {
    SLUICE_RETURN_IF_ERROR(BecomeLeader());
  }
  job_service_ = MakeJobService(*this);
  cluster_service_ = MakeClusterService(*this);
  auto started = StartServer(options_.listen, {job_service_.get(), cluster_service_.get()},
                             "coordinator", options_.security);
  if (!started.ok()) return started.status();
  server_ = std::move(started->server);
  auto advertised = AdvertisedAddress(
      HostOf(options_.listen) + ":" + std::to_string(started->port), options_.advertise);
  if (!advertised.ok()) {
    server_->Shutdown();
    return advertised.status();
  }
  address_ = std::move(advertised).value();
  liveness_thread_ = std::thread([this] { LivenessLoop(); });
  spdlog::info("coordinator listening on {}", address_);
  if (elects) {
    spdlog::info("coordinator {} is a standby until elected", address_);
    election_thread_ = std::thread([this] {
      Status led = BecomeLeader();
      if (!led.ok() && !stopping_flag_) StepDown("cannot become the leader: " + led.message());
    });
  }
  return Status::Ok();
}

Status CoordinatorNode::CheckLeader() const {
  if (leading_) return Status::Ok();
  std::string leader = store_ != nullptr ? store_->LeaderHint() : "";
  return Status::Unavailable("the coordinator at " + address_ + " is a standby" +
                             (leader.empty() ? std::string(" (no leader is elected yet)")
                                             : "; the leader is at " + leader));
}

Status CoordinatorNode::CheckWorkerCall(uint64_t worker_epoch) {
  SLUICE_RETURN_IF_ERROR(CheckLeader());
  if (worker_epoch > epoch_) {
    StepDown("a worker has seen coordinator epoch " + std::to_string(worker_epoch) +
             ", newer than this one's " + std::to_string(epoch_));
    return Status::FailedPrecondition("coordinator epoch " + std::to_string(epoch_) +
                                      " is fenced off by epoch " + std::to_string(worker_epoch));
  }
  return Status::Ok();
}

void CoordinatorNode::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  stopping_flag_ = true;
  if (liveness_thread_.joinable()) liveness_thread_.join();
  if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
  if (election_thread_.joinable()) election_thread_.join();
}

void CoordinatorNode::Wait() {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait(lock, [&] { return stopping_; });
}

proto::SubmitJobResponse CoordinatorNode::Submit(const proto::JobSpec& spec) {
  proto::SubmitJobResponse response;
  // The gRPC service refuses these first (RESOURCE_EXHAUSTED); this covers the HTTP API.
  if (Status fits = CheckSpecSize(spec, options_.max_spec_bytes); !fits.ok()) {
    response.add_problems()->set_message(fits.message());
    return response;
  }
  std::vector<proto::ValidationProblem> problems = ValidateJob(spec, check_);
  for (auto& p : CheckClusterLimits(spec, options_.limits)) problems.push_back(std::move(p));
  if (!problems.empty()) {
    for (auto& p : problems) *response.add_problems() = std::move(p);
    return response;
  }
  std::optional<proto::CheckpointMetadata> restore;
  if (!spec.restore_from().empty()) {
    auto read = ReadRestorePoint(spec.restore_from());
    if (!read.ok()) {
      response.add_problems()->set_message("cannot restore from '" + spec.restore_from() +
                                           "': " + read.status().message());
      return response;
    }
    restore = std::move(read).value();
  }
  JobId job_id = NewUniqueJobId();
  std::vector<Deployment> deployments;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [other_id, other] : jobs_) {
      if (other->lifecycle.terminal()) continue;  // a restarting job still writes there
      std::string conflict = OutputConflict(spec, other->spec, other_id.str());
      if (conflict.empty()) continue;
      response.add_problems()->set_message(std::move(conflict));
      return response;
    }
    auto job = std::make_unique<JobRecord>(std::vector<TrackedTask>{});
    job->id = job_id;
    job->spec = spec;
    job->submitted_at_ms = NowMs();
    job->checkpoint_dir = options_.checkpoint_dir + "/" + job_id.str();
    if (restore.has_value()) {
      job->next_checkpoint_id = restore->checkpoint_id() + 1;
      job->latest = std::move(restore);
    }
    job->checkpoint_ids_reserved = job->next_checkpoint_id;
    Status prepared = PrepareAttemptLocked(*job, &deployments);
    if (!prepared.ok()) {
      response.add_problems()->set_message(prepared.message());
      return response;
    }
    jobs_[job_id] = std::move(job);
    job_order_.push_back(job_id);
    PersistLocked(*jobs_.at(job_id));
  }
  spdlog::info("job {} '{}' accepted: {} tasks", job_id.str(), spec.name(), deployments.size());
  DeployAttempt(job_id, 0, std::move(deployments));
  response.set_job_id(job_id.str());
  return response;
}

Result<proto::CheckpointMetadata> CoordinatorNode::ReadRestorePoint(const std::string& path) {
  auto read = checkpoint_store_->ReadMetadata(path);
  if (!read.ok()) return read.status();
  proto::CheckpointMetadata restore = std::move(read).value();
  // Where it is now (a savepoint may have been copied or moved since it was written).
  std::string directory = path;
  const std::string file = std::string("/") + kMetadataFile;
  if (directory.size() > file.size() &&
      directory.compare(directory.size() - file.size(), file.size(), file) == 0) {
    directory.resize(directory.size() - file.size());
  }
  restore.set_directory(directory);
  return restore;
}

Result<proto::JobInfo> CoordinatorNode::GetJob(const JobId& id) const {
  if (!leading_) {
    auto stored = StandbyView();
    if (!stored.ok()) return stored.status();
    for (const auto& job : stored->jobs()) {
      if (job.job_id() == id.str()) return job;
    }
    return Status::NotFound("no job with id '" + id.str() + "'");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) return InfoOf(*it->second);
  auto archived = archived_.find(id);
  if (archived != archived_.end()) return archived->second.info();
  return Status::NotFound("no job with id '" + id.str() + "'");
}

proto::ListJobsResponse CoordinatorNode::ListJobs() const {
  if (!leading_) {
    auto stored = StandbyView();
    if (stored.ok()) return std::move(stored).value();
    spdlog::warn("standby: cannot read the job records: {}", stored.status().message());
    return {};
  }
  std::lock_guard<std::mutex> lock(mutex_);
  proto::ListJobsResponse response;
  for (const auto& id : job_order_) {
    auto it = jobs_.find(id);
    *response.add_jobs() = it != jobs_.end() ? InfoOf(*it->second) : archived_.at(id).info();
  }
  return response;
}

Result<proto::JobInfo> CoordinatorNode::CancelJob(const JobId& id) {
  std::vector<std::pair<std::string, TaskId>> to_cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) {
      auto archived = archived_.find(id);
      if (archived != archived_.end()) return archived->second.info();  // it has ended
      return Status::NotFound("no job with id '" + id.str() + "'");
    }
    JobRecord& job = *it->second;
    if (job.lifecycle.terminal()) return InfoOf(job);
    // CANCELLING is persisted before any task is told, so a coordinator that dies now finishes
    // the cancel when it comes back.
    StopCheckpointsLocked(job);
    Transition transition = job.tracker.OnCancelRequested();
    transition.changed = false;  // the lifecycle moves here, not through the attempt
    TransitionLocked(job, LifecycleEvent::kCancelRequested);
    ApplyTransition(job, std::move(transition), &to_cancel);
  }
  SendCancels(to_cancel);
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return Status::NotFound("no job with id '" + id.str() + "'");
  JobRecord& job = *it->second;
  if (job.lifecycle.state() == proto::JOB_CANCELLING) {
    job.ended_at_ms = NowMs();
    TransitionLocked(job, LifecycleEvent::kCancelDone);
    spdlog::info("job {} canceled", job.id.str());
  }
  return InfoOf(job);
}

Result<proto::GetResultsResponse> CoordinatorNode::GetResults(
    const proto::GetResultsRequest& request) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(JobId(request.job_id()));
  proto::GetResultsResponse response;
  if (it == jobs_.end()) {
    // A job from before a restart: its collected results were not kept.
    auto archived = archived_.find(JobId(request.job_id()));
    if (archived == archived_.end()) {
      return Status::NotFound("no job with id '" + request.job_id() + "'");
    }
    response.set_state(archived->second.info().state());
    response.set_complete(true);
    response.set_partial(true);
    return response;
  }
  const JobRecord& job = *it->second;
  size_t begin = std::min<size_t>(request.offset(), job.results.size());
  size_t end = job.results.size();
  if (request.max_records() > 0) end = std::min<size_t>(end, begin + request.max_records());
  for (size_t i = begin; i < end; ++i) response.add_records(job.results[i]);
  response.set_next_offset(end);
  response.set_state(job.lifecycle.state());
  response.set_complete(job.lifecycle.terminal() && end == job.results.size());
  response.set_partial(job.results_partial);
  return response;
}

Status CoordinatorNode::PushResults(const proto::PushResultsRequest& request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(JobId(request.job_id()));
    if (it == jobs_.end()) return Status::NotFound("no job with id '" + request.job_id() + "'");
    JobRecord& job = *it->second;
    if (!request.watch_only()) {
      if (job.results.size() + request.records_size() > options_.max_collected_records) {
        return Status(StatusCode::kResourceExhausted, ErrorDomain::kUser,
                      "sink.collect keeps at most " +
                          std::to_string(options_.max_collected_records) +
                          " records per job; write larger results to a file sink");
      }
      for (const auto& record : request.records()) job.results.push_back(record);
    }
  }
  if (output_listener_) {
    output_listener_(JobId(request.job_id()),
                     std::vector<std::string>(request.records().begin(), request.records().end()),
                     request.dropped());
  }
  return Status::Ok();
}

std::vector<proto::ValidationProblem> CoordinatorNode::Validate(const proto::JobSpec& spec) const {
  return ValidateJob(spec, check_);
}

Result<proto::JobSpec> CoordinatorNode::SpecOf(const JobId& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(id);
  if (it != jobs_.end()) return it->second->spec;
  auto archived = archived_.find(id);
  if (archived != archived_.end()) return archived->second.spec();
  return Status::NotFound("no job with id '" + id.str() + "'");
}

void CoordinatorNode::ApplyTaskStatus(JobRecord& job, const proto::TaskStatus& status,
                                      std::vector<std::pair<std::string, TaskId>>* to_cancel) {
  TaskId task_id(status.task_id());
  auto it = job.tasks.find(task_id);
  if (it == job.tasks.end()) return;
  TaskRecord& task = it->second;
  task.records_in = std::max(task.records_in, status.records_in());
  task.records_out = std::max(task.records_out, status.records_out());
  task.rates.Add(NowMs(), task.records_in, task.records_out);
  if (status.has_watermark()) task.watermark = status.watermark();
  task.backpressured_ms = std::max(task.backpressured_ms, status.backpressured_ms());
  task.detail = status.detail();
  if (status.state() == proto::TASK_STATE_UNSPECIFIED || IsTaskTerminal(task.reported)) return;
  task.reported = status.state();
  // Running (or deploying): nothing changes for the job; a heartbeat carries every task's
  // status, so this must stay constant time.
  if (status.state() != proto::TASK_FINISHED && status.state() != proto::TASK_FAILED) return;
  Result<Transition> transition = Transition{job.tracker.state(), false, {}};
  if (status.state() == proto::TASK_FINISHED) {
    if (job.checkpoints.has_value()) {
      HandleCheckpointFailuresLocked(job, job.checkpoints->TaskFinished(task_id));
    }
    transition = job.tracker.OnTaskFinished(task_id);
  } else if (status.state() == proto::TASK_FAILED) {
    transition = job.tracker.OnTaskFailed(task_id, status.failure(), status.failure_domain());
  }
  if (transition.ok()) ApplyTransition(job, std::move(transition).value(), to_cancel);
}

void CoordinatorNode::ApplyTransition(JobRecord& job, Transition transition,
                                      std::vector<std::pair<std::string, TaskId>>* to_cancel) {
  for (const auto& task_id : transition.to_cancel) {
    const TrackedTask* task = job.tracker.Find(task_id);
    if (task == nullptr) continue;
    auto worker = workers_.find(task->worker);
    if (worker != workers_.end()) to_cancel->emplace_back(worker->second->address, task_id);
  }
  // A task the tracker holds as ended frees its slot (cancelled ones are stopping now).
  for (const auto& task : job.tracker.tasks()) {
    if (!IsTaskTerminal(task.state)) continue;
    auto worker = workers_.find(task.worker);
    if (worker != workers_.end()) worker->second->tasks.erase(task.id);
  }
  if (!transition.changed) return;
  switch (transition.state) {
    case proto::JOB_RUNNING:
      TransitionLocked(job, LifecycleEvent::kDeployed);
      break;
    case proto::JOB_FINISHED:
      StopCheckpointsLocked(job);
      job.ended_at_ms = NowMs();
      TransitionLocked(job, LifecycleEvent::kAllTasksFinished);
      spdlog::info("job {} finished", job.id.str());
      break;
    case proto::JOB_FAILED:
      FailAttemptLocked(job);
      if (job.lifecycle.state() == proto::JOB_FAILED) {
        job.ended_at_ms = NowMs();
        PersistLocked(job);
        spdlog::warn("job {} failed: {}", job.id.str(), job.failure);
      }
      break;
    default:
      break;
  }
}

void CoordinatorNode::TransitionLocked(JobRecord& job, LifecycleEvent event) {
  const proto::JobState before = job.lifecycle.state();
  Status moved = job.lifecycle.Apply(event);
  if (!moved.ok()) {
    spdlog::debug("job {}: {}", job.id.str(), moved.message());
    return;
  }
  if (job.lifecycle.state() != before || event == LifecycleEvent::kResumed) PersistLocked(job);
  // An ended job is history (stored in full above): its functions, configs and params need not
  // stay in memory.
  if (job.lifecycle.state() != before && job.lifecycle.terminal()) {
    DropSpecBodies(&job.spec);
    ReleaseFreeMemory();
  }
}

void CoordinatorNode::ReserveCheckpointIdLocked(JobRecord& job, uint64_t checkpoint_id) {
  if (checkpoint_id < job.checkpoint_ids_reserved) return;
  // In blocks, so that not every trigger costs a durable write; a resumed job starts above.
  job.checkpoint_ids_reserved = checkpoint_id + kCheckpointIdBlock;
  PersistLocked(job);
}

proto::JobInfo CoordinatorNode::InfoOf(const JobRecord& job) const {
  proto::JobInfo info;
  info.set_job_id(job.id.str());
  info.set_name(job.spec.name());
  const proto::JobState state = job.lifecycle.state();
  info.set_state(state);
  info.set_failure(state == proto::JOB_RESTARTING ? job.last_restart_reason : job.failure);
  if (state == proto::JOB_FAILED) info.set_failure_domain(job.failure_domain);
  info.set_attempt(job.attempt);
  info.set_resumes(job.resumes);
  info.set_results_partial(job.results_partial);
  if (job.latest.has_value()) {
    info.set_last_checkpoint_id(job.latest->checkpoint_id());
    info.set_last_checkpoint_path(job.latest->directory());
    if (job.latest->completed_at_ms() >= job.latest->triggered_at_ms()) {
      info.set_last_checkpoint_duration_ms(job.latest->completed_at_ms() -
                                           job.latest->triggered_at_ms());
    }
    const CheckpointCost cost = CostOf(*job.latest);
    info.set_last_checkpoint_sync_us(cost.sync_us);
    info.set_last_checkpoint_async_us(cost.async_us);
    info.set_last_checkpoint_full_bytes(cost.full_bytes);
    info.set_last_checkpoint_incremental_bytes(cost.incremental_bytes);
  }
  info.set_checkpoints_completed(job.checkpoints_completed);
  info.set_checkpoints_failed(job.checkpoints_failed);
  info.set_restarts(job.restarts);
  info.set_last_restart_reason(job.last_restart_reason);
  info.set_submitted_at_ms(job.submitted_at_ms);
  info.set_ended_at_ms(job.ended_at_ms);
  for (const auto& tracked : job.tracker.tasks()) {
    const TaskRecord& record = job.tasks.at(tracked.id);
    proto::TaskInfo* task = info.add_tasks();
    task->set_task_id(tracked.id.str());
    task->set_operators(tracked.operators);
    task->set_subtask(record.subtask);
    task->set_worker_id(tracked.worker.str());
    task->set_worker_address(record.worker_address);
    // The tracker decides ends; a task it still holds live shows what its worker said.
    bool live = !IsTaskTerminal(tracked.state);
    task->set_state(live ? record.reported : tracked.state);
    task->set_failure(tracked.failure);
    if (tracked.state == proto::TASK_FAILED) task->set_failure_domain(tracked.domain);
    task->set_records_in(record.records_in);
    task->set_records_out(record.records_out);
    if (record.watermark.has_value()) task->set_watermark(*record.watermark);
    task->set_backpressured_ms(record.backpressured_ms);
    if (live) {
      task->set_in_per_second(record.rates.in_per_second());
      task->set_out_per_second(record.rates.out_per_second());
    }
    // A canceled task keeps the problem it had when it stopped (a connector still retrying).
    if (live || tracked.state == proto::TASK_CANCELED) task->set_detail(record.detail);
  }
  return info;
}

}  // namespace sluice::coordinator
