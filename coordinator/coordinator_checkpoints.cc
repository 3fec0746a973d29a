// The parts of CoordinatorNode that deal with job attempts: deploying a job's tasks, restarting
// them from the latest completed checkpoint after a failure, and driving checkpoints and
// savepoints (triggers, acknowledgements, metadata, notifications, retention).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/operator_kinds.h"

#include "common/checkpoint_layout.h"
#include "common/grpc_util.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/coordinator_records.h"
#include "coordinator/planner.h"
#include "coordinator/routing.h"
#include "coordinator/scheduler.h"

namespace sluice::coordinator {
namespace {

using internal::NowMs;

constexpr auto kDeployTimeout = std::chrono::seconds(10);
constexpr uint32_t kDefaultRestartAttempts = 10;
constexpr uint64_t kDefaultRestartDelayMs = 1000;

// The job's restart strategy with its defaults: restarts only make sense with checkpoints (or
// when asked for explicitly).
proto::RestartStrategy RestartStrategyOf(const proto::JobSpec& spec) {
  if (spec.has_restart()) return spec.restart();
  proto::RestartStrategy strategy;
  if (spec.checkpoint_interval_ms() > 0) {
    strategy.set_max_attempts(kDefaultRestartAttempts);
    strategy.set_delay_ms(kDefaultRestartDelayMs);
  }
  return strategy;
}

// The snapshots of `restore` that a task running `operator_ids` needs (see RestoreSpec).
proto::RestoreSpec RestoreFor(const proto::CheckpointMetadata& restore,
                              const std::vector<std::string>& operator_ids) {
  proto::RestoreSpec spec;
  spec.set_checkpoint_id(restore.checkpoint_id());
  spec.set_directory(restore.directory());
  std::set<std::string> ours(operator_ids.begin(), operator_ids.end());
  for (const proto::TaskSnapshot& snapshot : restore.tasks()) {
    const int n = snapshot.operator_ids_size();
    bool needed = ours.count(snapshot.keyed_operator_id()) != 0 ||
                  std::any_of(snapshot.keyed_operator_ids().begin(),
                              snapshot.keyed_operator_ids().end(),
                              [&](const std::string& id) { return ours.count(id) != 0; }) ||
                  (n > 0 && operator_ids.front() == snapshot.operator_ids(0)) ||
                  (n > 0 && operator_ids.back() == snapshot.operator_ids(n - 1));
    if (needed) *spec.add_snapshots() = snapshot;
  }
  return spec;
}

}  // namespace

Status CoordinatorNode::PrepareAttemptLocked(JobRecord& job,
                                             std::vector<Deployment>* deployments) {
  const proto::JobSpec& spec = job.spec;
  auto plan = PlanJob(spec, job.id, job.attempt);
  if (!plan.ok()) return plan.status();
  std::vector<WorkerSlots> free;
  // A worker that missed two heartbeats may be dead and not yet declared lost: skip it.
  const auto silent_limit = std::chrono::milliseconds(2 * options_.heartbeat_interval_ms + 200);
  for (const auto& [id, worker] : workers_) {
    if (Clock::now() - worker->last_seen > silent_limit) continue;
    uint32_t used = static_cast<uint32_t>(worker->tasks.size());
    free.push_back(WorkerSlots{id, worker->slots > used ? worker->slots - used : 0});
  }
  auto assignments = AssignSlots(free, plan->tasks);
  if (!assignments.ok()) return assignments.status();
  std::map<TaskId, WorkerId> placement;
  for (const auto& a : *assignments) placement[a.task] = a.worker;

  std::vector<TrackedTask> tracked;
  std::vector<TaskId> all_tasks;
  std::vector<TaskId> source_tasks;
  for (const auto& task : plan->tasks) {
    const TaskGroup& group = plan->groups[task.group];
    tracked.push_back(TrackedTask{task.id, group.display, placement.at(task.id),
                                  proto::TASK_DEPLOYING, ""});
    all_tasks.push_back(task.id);
    for (const auto& op : spec.operators()) {
      if (op.id() == group.operator_ids.front() && IsSourceKind(op.kind())) {
        source_tasks.push_back(task.id);
      }
    }
  }
  auto options =
      CheckpointCoordinatorOptions::ForSpec(job.id, spec, job.checkpoint_dir);
  options.tasks = all_tasks;
  options.trigger_tasks = source_tasks;
  options.first_checkpoint_id = job.next_checkpoint_id;
  options.restored_from = job.latest;
  options.retained_directories = job.retained_directories;
  auto checkpoints = CheckpointCoordinator::Create(std::move(options), NowMs());
  if (!checkpoints.ok()) return checkpoints.status();

  job.tracker = JobTracker(std::move(tracked));
  job.tasks.clear();
  job.checkpoints.emplace(std::move(checkpoints).value());
  std::map<TaskId, std::string> address_of;
  for (const auto& [task, worker] : placement) address_of[task] = workers_.at(worker)->address;
  std::map<TaskId, TaskRoutes> routes = PlanRoutes(*plan, address_of);
  // Receivers first, so senders find their inboxes waiting.
  std::vector<PlannedTask> order = plan->tasks;
  std::stable_sort(order.begin(), order.end(), [](const PlannedTask& a, const PlannedTask& b) {
    return a.group > b.group;
  });
  for (const auto& task : order) {
    const TaskGroup& group = plan->groups[task.group];
    WorkerRecord& worker = *workers_.at(placement.at(task.id));
    job.tasks[task.id].subtask = task.subtask;
    job.tasks[task.id].worker_address = worker.address;
    worker.tasks[task.id] = job.id;

    Deployment d{worker.address, worker.stub, {}};
    proto::TaskDeployment* t = d.request.mutable_task();
    t->set_job_id(job.id.str());
    t->set_task_id(task.id.str());
    *t->mutable_spec() = spec;
    for (const auto& op : group.operator_ids) t->add_operator_ids(op);
    t->set_subtask(task.subtask);
    t->set_parallelism(group.parallelism);
    TaskRoutes& route = routes[task.id];
    t->set_input_channels(route.input_channels);
    t->set_input_key_fn(route.input_key_fn);
    for (uint32_t input : route.channel_inputs) t->add_channel_inputs(input);
    for (const std::string& key_fn : route.input_key_fns) t->add_input_key_fns(key_fn);
    t->set_combined_input(route.combined_input);
    for (auto& output : route.outputs) *t->add_outputs() = std::move(output);
    t->set_checkpoint_dir(job.checkpoint_dir);
    t->set_at_least_once(spec.checkpoint_mode() == proto::AT_LEAST_ONCE);
    if (job.latest.has_value()) *t->mutable_restore() = RestoreFor(*job.latest, group.operator_ids);
    deployments->push_back(std::move(d));
  }
  return Status::Ok();
}

void CoordinatorNode::DeployAttempt(const JobId& job_id, uint32_t attempt,
                                    std::vector<Deployment> deployments) {
  Status deploy_status = Status::Ok();
  std::string failed_task;
  for (auto& d : deployments) {
    d.request.set_coordinator_epoch(epoch_);
    proto::DeployTaskResponse reply;
    grpc::ClientContext context;
    SetDeadline(context, kDeployTimeout);
    grpc::Status rpc = d.stub->DeployTask(&context, d.request, &reply);
    if (!rpc.ok()) {
      deploy_status = FromGrpc(rpc, "worker " + d.worker_address);
      failed_task = d.request.task().task_id();
      break;
    }
  }
  CancelList to_cancel;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = jobs_.find(job_id);
    if (it == jobs_.end() || it->second->attempt != attempt) return;
    JobRecord& job = *it->second;
    if (deploy_status.ok()) {
      ApplyTransition(job, job.tracker.OnDeployed(), &to_cancel);
    } else {
      auto transition =
          job.tracker.OnTaskFailed(TaskId(failed_task), "cannot deploy: " + deploy_status.message(),
                                   proto::FAILURE_EXTERNAL);
      if (transition.ok()) ApplyTransition(job, std::move(transition).value(), &to_cancel);
    }
  }
  SendCancels(to_cancel);
}

void CoordinatorNode::FailAttemptLocked(JobRecord& job) {
  const proto::RestartStrategy strategy = RestartStrategyOf(job.spec);
  FailureDecision decision =
      DecideOnFailure(strategy, job.spec.has_restart(), job.restarts, job.consecutive_failures,
                      job.tracker.failure_domain());
  StopCheckpointsLocked(job);
  if (!decision.restart) {
    job.failure = job.tracker.failure();
    if (!decision.why.empty()) job.failure += " (not restarted: " + decision.why + ")";
    job.failure_domain = job.tracker.failure_domain();
    TransitionLocked(job, LifecycleEvent::kFailedFinal);
    return;
  }
  job.restart_at = Clock::now() + std::chrono::milliseconds(decision.delay_ms);
  job.last_restart_reason = job.tracker.failure();
  ++job.consecutive_failures;
  job.restart_pending = true;
  job.waiting_for_slots_logged = false;
  spdlog::warn("job {}: {}; restarting in {} ms from {} (restart {} of {})", job.id.str(),
               job.last_restart_reason, decision.delay_ms,
               job.latest.has_value()
                   ? "checkpoint " + std::to_string(job.latest->checkpoint_id())
                   : std::string("the beginning (no checkpoint completed)"),
               job.restarts + 1, strategy.max_attempts());
  TransitionLocked(job, LifecycleEvent::kFailedRestart);
}

void CoordinatorNode::RestartDueJobs() {
  std::vector<std::pair<JobId, std::vector<Deployment>>> restarts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!leading_) return;
    const auto now = Clock::now();
    for (auto& [id, record] : jobs_) {
      JobRecord& job = *record;
      const proto::JobState state = job.lifecycle.state();
      if (state != proto::JOB_RESTARTING && state != proto::JOB_SCHEDULING) continue;
      if (now < job.restart_at) continue;
      // A resumed job waits for the workers that ran it to register again, for a while, so
      // they cancel the old attempt's tasks before the new one is placed.
      if (now < resume_until_ && !ResumeWorkersBackLocked(job)) continue;
      const bool restart = state == proto::JOB_RESTARTING;
      if (restart) TransitionLocked(job, LifecycleEvent::kRestartDue);
      std::vector<Deployment> deployments;
      ++job.attempt;
      Status prepared = PrepareAttemptLocked(job, &deployments);
      if (!prepared.ok()) {
        --job.attempt;
        if (!job.waiting_for_slots_logged) {
          spdlog::warn("job {} waits for slots: {}", id.str(), prepared.message());
          job.waiting_for_slots_logged = true;
        }
        job.restart_at = now + std::chrono::milliseconds(200);
        continue;
      }
      if (job.restart_pending) ++job.restarts;
      job.restart_pending = false;
      job.resume_workers = 0;
      job.resume_addresses.clear();
      spdlog::info("job {} deploying attempt {}: {} tasks", id.str(), job.attempt,
                   deployments.size());
      PersistLocked(job);  // the attempt number, before its tasks exist anywhere
      restarts.emplace_back(id, std::move(deployments));
    }
  }
  for (auto& [id, deployments] : restarts) {
    uint32_t attempt = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      attempt = jobs_.at(id)->attempt;
    }
    DeployAttempt(id, attempt, std::move(deployments));
  }
}

void CoordinatorNode::StopCheckpointsLocked(JobRecord& job) {
  if (!job.checkpoints.has_value()) return;
  HandleCheckpointFailuresLocked(job, job.checkpoints->Stop());
  job.next_checkpoint_id = job.checkpoints->next_checkpoint_id();
  job.retained_directories.assign(job.checkpoints->retained_directories().begin(),
                                  job.checkpoints->retained_directories().end());
  job.checkpoints.reset();
}

void CoordinatorNode::HandleCheckpointFailuresLocked(JobRecord& job,
                                                     std::vector<CheckpointFailure> failures) {
  for (CheckpointFailure& failure : failures) {
    if (failure.triggered) {
      ++job.checkpoints_failed;
      directories_to_delete_.push_back(failure.directory);
    }
    spdlog::warn("{}", failure.reason);
    auto waiting = savepoints_.find({job.id, failure.checkpoint_id});
    if (waiting != savepoints_.end()) {
      waiting->second = Result<std::string>(Status::Unavailable(failure.reason));
    }
  }
  if (!failures.empty()) cv_.notify_all();
}

void CoordinatorNode::TickCheckpointsLocked(uint64_t now_ms) {
  for (auto& [id, record] : jobs_) {
    JobRecord& job = *record;
    if (!job.checkpoints.has_value() || job.lifecycle.state() != proto::JOB_RUNNING) continue;
    CheckpointTick tick = job.checkpoints->Tick(now_ms);
    HandleCheckpointFailuresLocked(job, std::move(tick.failed));
    if (tick.trigger.has_value()) {
      ReserveCheckpointIdLocked(job, tick.trigger->checkpoint_id);
      QueueTriggersLocked(job, *tick.trigger);
    }
  }
}

void CoordinatorNode::QueueTriggersLocked(const JobRecord& job, const CheckpointTrigger& trigger) {
  for (const TaskId& task : trigger.tasks) {
    const TrackedTask* tracked = job.tracker.Find(task);
    if (tracked == nullptr) continue;
    auto worker = workers_.find(tracked->worker);
    if (worker == workers_.end()) continue;
    checkpoint_calls_.push_back(
        CheckpointCall{worker->second->address, task, trigger.checkpoint_id, true, job.id});
  }
}

void CoordinatorNode::SendCheckpointCalls() {
  std::vector<CheckpointCall> calls;
  std::vector<std::string> to_delete;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    calls.swap(checkpoint_calls_);
    to_delete.swap(directories_to_delete_);
  }
  for (const CheckpointCall& call : calls) {
    auto stub = proto::WorkerService::NewStub(MakeChannel(call.address, options_.security));
    grpc::ClientContext context;
    SetDeadline(context, std::chrono::seconds(2));
    grpc::Status rpc;
    if (call.trigger) {
      proto::TriggerCheckpointRequest request;
      request.set_task_id(call.task.str());
      request.set_checkpoint_id(call.checkpoint_id);
      request.set_coordinator_epoch(epoch_);
      proto::TriggerCheckpointResponse response;
      rpc = stub->TriggerCheckpoint(&context, request, &response);
    } else {
      proto::NotifyCheckpointCompleteRequest request;
      request.set_task_id(call.task.str());
      request.set_checkpoint_id(call.checkpoint_id);
      request.set_coordinator_epoch(epoch_);
      proto::NotifyCheckpointCompleteResponse response;
      rpc = stub->NotifyCheckpointComplete(&context, request, &response);
    }
    if (!rpc.ok() && call.trigger) {
      proto::DeclineCheckpointRequest decline;
      decline.set_job_id(call.job.str());
      decline.set_task_id(call.task.str());
      decline.set_checkpoint_id(call.checkpoint_id);
      decline.set_reason("cannot trigger it at worker " + call.address + ": " +
                         rpc.error_message());
      DeclineCheckpoint(decline);
    }
  }
  DeleteDirectories(std::move(to_delete));
}

void CoordinatorNode::DeleteDirectories(std::vector<std::string> directories) {
  for (const std::string& directory : directories) {
    Status deleted = checkpoint_store_->Delete(directory);
    if (!deleted.ok()) spdlog::warn("{}", deleted.message());
  }
}

void CoordinatorNode::AcknowledgeCheckpoint(const proto::AcknowledgeCheckpointRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(JobId(request.job_id()));
  if (it == jobs_.end() || !it->second->checkpoints.has_value()) return;
  JobRecord& job = *it->second;
  auto metadata =
      job.checkpoints->OnAcknowledge(NowMs(), request.checkpoint_id(), request.snapshot());
  if (!metadata.has_value()) return;
  // A coordinator that was paused while another took over must complete nothing: confirm the
  // epoch first (the workers fence its later calls, but a _metadata file is on the shared disk).
  if (store_ != nullptr) {
    if (Status leads = store_->ConfirmLeader(); !leads.ok()) {
      if (store_->Deposed()) StepDown(leads.message());
      auto failure = job.checkpoints->OnPersistFailed(
          metadata->checkpoint_id(), "cannot confirm this coordinator still leads: " + leads.message());
      if (failure.has_value()) HandleCheckpointFailuresLocked(job, {std::move(*failure)});
      return;
    }
  }
  Status written = checkpoint_store_->WriteMetadata(*metadata);
  if (!written.ok()) {
    auto failure = job.checkpoints->OnPersistFailed(metadata->checkpoint_id(), written.message());
    if (failure.has_value()) HandleCheckpointFailuresLocked(job, {std::move(*failure)});
    return;
  }
  auto completed = job.checkpoints->OnPersisted(metadata->checkpoint_id());
  if (!completed.ok()) {
    spdlog::warn("job {}: {}", job.id.str(), completed.status().message());
    return;
  }
  ++job.checkpoints_completed;
  job.consecutive_failures = 0;
  job.latest = completed->metadata;
  job.next_checkpoint_id = job.checkpoints->next_checkpoint_id();
  spdlog::debug("job {}: checkpoint {} complete in {} ms", job.id.str(),
                completed->metadata.checkpoint_id(),
                completed->metadata.completed_at_ms() - completed->metadata.triggered_at_ms());
  for (const TrackedTask& task : job.tracker.tasks()) {
    auto worker = workers_.find(task.worker);
    if (worker == workers_.end()) continue;
    checkpoint_calls_.push_back(CheckpointCall{worker->second->address, task.id,
                                               completed->metadata.checkpoint_id(), false, job.id});
  }
  for (auto& directory : completed->to_delete) directories_to_delete_.push_back(directory);
  auto waiting = savepoints_.find({job.id, completed->metadata.checkpoint_id()});
  if (waiting != savepoints_.end()) {
    waiting->second = Result<std::string>(completed->metadata.directory());
  }
  PersistLocked(job);
  cv_.notify_all();
}

void CoordinatorNode::DeclineCheckpoint(const proto::DeclineCheckpointRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = jobs_.find(JobId(request.job_id()));
  if (it == jobs_.end() || !it->second->checkpoints.has_value()) return;
  JobRecord& job = *it->second;
  auto failure = job.checkpoints->OnDecline(request.checkpoint_id(), TaskId(request.task_id()),
                                            request.reason());
  if (failure.has_value()) HandleCheckpointFailuresLocked(job, {std::move(*failure)});
}

Result<proto::TriggerSavepointResponse> CoordinatorNode::TriggerSavepoint(
    const proto::TriggerSavepointRequest& request, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  const JobId job_id(request.job_id());
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return Status::NotFound("no running job with id '" + request.job_id() + "'");
  }
  JobRecord& job = *it->second;
  if (job.lifecycle.state() != proto::JOB_RUNNING || !job.checkpoints.has_value()) {
    return Status::FailedPrecondition("job " + job_id.str() + " is not running");
  }
  // A savepoint is written where its checkpoint would be (tasks find the directory from the
  // id), and never deleted by retention; a directory of the user's gets a copy.
  const uint64_t id = job.checkpoints->next_checkpoint_id();
  const std::string directory = CheckpointDirectory(job.checkpoint_dir, id);
  auto requested = job.checkpoints->TriggerSavepoint(NowMs(), directory);
  if (!requested.ok()) return requested.status();
  const uint64_t checkpoint_id = requested->checkpoint_id;
  savepoints_[{job_id, checkpoint_id}] = std::nullopt;
  ReserveCheckpointIdLocked(job, checkpoint_id);
  if (requested->trigger.has_value()) {
    QueueTriggersLocked(job, *requested->trigger);
    cv_.notify_all();
  }
  const auto key = std::make_pair(job_id, checkpoint_id);
  bool done = cv_.wait_for(lock, timeout, [&] {
    return stopping_ || savepoints_.at(key).has_value();
  });
  std::optional<Result<std::string>> outcome = std::move(savepoints_.at(key));
  savepoints_.erase(key);
  if (!done || !outcome.has_value()) {
    return Status(StatusCode::kDeadlineExceeded, ErrorDomain::kUser,
                  "savepoint " + std::to_string(checkpoint_id) + " of job " + job_id.str() +
                      " did not complete in " + std::to_string(timeout.count()) + " ms");
  }
  if (!outcome->ok()) return outcome->status();
  std::string path = outcome->value();
  lock.unlock();
  if (!request.directory().empty()) {
    std::error_code error;
    std::filesystem::create_directories(request.directory(), error);
    std::filesystem::copy(path, request.directory(),
                          std::filesystem::copy_options::recursive |
                              std::filesystem::copy_options::overwrite_existing,
                          error);
    if (error) {
      return Status::External("savepoint " + std::to_string(checkpoint_id) + " is at " + path +
                              " but cannot be copied to '" + request.directory() +
                              "': " + error.message());
    }
    path = request.directory();
  }
  proto::TriggerSavepointResponse response;
  response.set_path(path);
  response.set_checkpoint_id(checkpoint_id);
  return response;
}

}  // namespace sluice::coordinator
