#include "coordinator/checkpoint_coordinator.h"

#include "common/checkpoint_layout.h"

#include <algorithm>
#include <utility>

#include "coordinator/secrets.h"

namespace sluice::coordinator {

CheckpointCost CostOf(const proto::CheckpointMetadata& metadata) {
  CheckpointCost cost;
  for (const proto::TaskSnapshot& task : metadata.tasks()) {
    cost.sync_us = std::max(cost.sync_us, task.sync_duration_us());
    cost.async_us = std::max(cost.async_us, task.async_duration_us());
    cost.full_bytes += task.state_full_bytes();
    cost.incremental_bytes += task.state_incremental_bytes();
  }
  return cost;
}
namespace {

// How many of the tasks a timed-out checkpoint still waited for its reason names.
constexpr size_t kTasksNamed = 5;

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string NameTasks(const std::set<TaskId>& tasks) {
  std::string names;
  size_t named = 0;
  for (const TaskId& task : tasks) {
    if (named == kTasksNamed) {
      names += " and " + std::to_string(tasks.size() - named) + " more";
      break;
    }
    names += (named == 0 ? "" : ", ") + task.str();
    ++named;
  }
  return names;
}

}  // namespace

CheckpointCoordinatorOptions CheckpointCoordinatorOptions::ForSpec(JobId job_id,
                                                                   const proto::JobSpec& spec,
                                                                   std::string job_dir) {
  CheckpointCoordinatorOptions options;
  options.job_id = std::move(job_id);
  options.spec = RedactSecrets(spec);  // only written into the checkpoint's metadata
  options.interval_ms = spec.checkpoint_interval_ms();
  options.timeout_ms = spec.checkpoint_timeout_ms() == 0 ? kDefaultCheckpointTimeoutMs
                                                         : spec.checkpoint_timeout_ms();
  options.retained =
      spec.checkpoints_retained() == 0 ? kDefaultCheckpointsRetained : spec.checkpoints_retained();
  options.job_dir = std::move(job_dir);
  return options;
}

Result<CheckpointCoordinator> CheckpointCoordinator::Create(CheckpointCoordinatorOptions options,
                                                            uint64_t now_ms) {
  const std::string job = "job " + options.job_id.str();
  if (options.tasks.empty()) return Status::Internal(job + ": no tasks to checkpoint");
  if (options.trigger_tasks.empty()) {
    return Status::Internal(job + ": no source tasks to trigger checkpoints at");
  }
  std::set<TaskId> tasks;
  for (const TaskId& task : options.tasks) {
    if (!tasks.insert(task).second) {
      return Status::Internal(job + ": task " + task.str() + " is listed twice");
    }
  }
  std::set<TaskId> triggers;
  for (const TaskId& task : options.trigger_tasks) {
    if (tasks.count(task) == 0) {
      return Status::Internal(job + ": trigger task " + task.str() + " is not one of its tasks");
    }
    if (!triggers.insert(task).second) {
      return Status::Internal(job + ": trigger task " + task.str() + " is listed twice");
    }
  }
  if (options.retained == 0) {
    return Status::Internal(job + ": at least one completed checkpoint must be retained");
  }
  if (options.timeout_ms == 0) return Status::Internal(job + ": the checkpoint timeout is 0");
  if (options.interval_ms > 0 && options.job_dir.empty()) {
    return Status::Internal(job + ": checkpoints every " + std::to_string(options.interval_ms) +
                            " ms but no checkpoint directory");
  }
  if (options.first_checkpoint_id == 0) options.first_checkpoint_id = 1;
  if (options.restored_from &&
      options.first_checkpoint_id <= options.restored_from->checkpoint_id()) {
    return Status::Internal(job + ": the first checkpoint id " +
                            std::to_string(options.first_checkpoint_id) +
                            " is not above the restored checkpoint " +
                            std::to_string(options.restored_from->checkpoint_id()));
  }
  return CheckpointCoordinator(std::move(options), now_ms);
}

CheckpointCoordinator::CheckpointCoordinator(CheckpointCoordinatorOptions options, uint64_t now_ms)
    : options_(std::move(options)),
      task_set_(options_.tasks.begin(), options_.tasks.end()),
      next_id_(options_.first_checkpoint_id),
      last_trigger_ms_(now_ms),
      latest_completed_(options_.restored_from),
      retained_(options_.retained_directories.begin(), options_.retained_directories.end()) {}

std::optional<uint64_t> CheckpointCoordinator::pending_id() const {
  if (!pending_) return std::nullopt;
  return pending_->id;
}

std::string CheckpointCoordinator::Describe(uint64_t checkpoint_id, bool savepoint) const {
  return std::string(savepoint ? "savepoint " : "checkpoint ") + std::to_string(checkpoint_id) +
         " of job " + options_.job_id.str();
}

bool CheckpointCoordinator::IsPending(uint64_t checkpoint_id, Phase phase) const {
  return !stopped_ && pending_ && pending_->id == checkpoint_id && pending_->phase == phase;
}

CheckpointTrigger CheckpointCoordinator::Start(uint64_t id, std::string directory, bool savepoint,
                                               uint64_t now_ms) {
  Pending pending;
  pending.id = id;
  pending.directory = std::move(directory);
  pending.savepoint = savepoint;
  pending.triggered_at_ms = now_ms;
  pending.awaiting = task_set_;
  pending_ = std::move(pending);
  last_trigger_ms_ = now_ms;
  return CheckpointTrigger{id, pending_->directory, savepoint, options_.trigger_tasks};
}

CheckpointFailure CheckpointCoordinator::FailPending(const std::string& why) {
  CheckpointFailure failure;
  failure.checkpoint_id = pending_->id;
  failure.directory = pending_->directory;
  failure.savepoint = pending_->savepoint;
  failure.triggered = true;
  failure.reason = Describe(pending_->id, pending_->savepoint) + " failed: " + why;
  pending_.reset();
  ++failed_count_;
  return failure;
}

void CheckpointCoordinator::FailQueued(const std::string& why,
                                       std::vector<CheckpointFailure>& out) {
  for (QueuedSavepoint& queued : queued_) {
    CheckpointFailure failure;
    failure.checkpoint_id = queued.id;
    failure.directory = std::move(queued.directory);
    failure.savepoint = true;
    failure.triggered = false;
    failure.reason = Describe(queued.id, true) + " was not taken: " + why;
    out.push_back(std::move(failure));
  }
  queued_.clear();
}

CheckpointTick CheckpointCoordinator::Tick(uint64_t now_ms) {
  CheckpointTick tick;
  if (stopped_) return tick;
  if (pending_ && pending_->phase == Phase::kAwaitingAcks &&
      now_ms >= pending_->triggered_at_ms + options_.timeout_ms) {
    tick.failed.push_back(FailPending("it expired after " + std::to_string(options_.timeout_ms) +
                                      " ms; not acknowledged by " + NameTasks(pending_->awaiting)));
  }
  if (pending_ || finished_task_) return tick;
  if (!queued_.empty()) {
    QueuedSavepoint next = std::move(queued_.front());
    queued_.pop_front();
    tick.trigger = Start(next.id, std::move(next.directory), true, now_ms);
    return tick;
  }
  if (options_.interval_ms > 0 && now_ms >= last_trigger_ms_ + options_.interval_ms) {
    const uint64_t id = next_id_++;
    tick.trigger =
        Start(id, JoinPath(options_.job_dir, CheckpointDirectoryName(id)), false, now_ms);
  }
  return tick;
}

Result<SavepointRequest> CheckpointCoordinator::TriggerSavepoint(uint64_t now_ms,
                                                                 const std::string& directory) {
  const std::string job = "job " + options_.job_id.str();
  if (stopped_) {
    return Status::FailedPrecondition(job + " is ending or restarting; it takes no savepoint now");
  }
  if (finished_task_) {
    return Status::FailedPrecondition(job + ": task " + finished_task_->str() +
                                      " finished; a job whose bounded sources finished takes "
                                      "no more checkpoints or savepoints");
  }
  if (directory.empty()) return Status::InvalidArgument(job + ": the savepoint directory is empty");
  SavepointRequest request;
  request.checkpoint_id = next_id_++;
  if (pending_ || !queued_.empty()) {
    queued_.push_back(QueuedSavepoint{request.checkpoint_id, directory});
  } else {
    request.trigger = Start(request.checkpoint_id, directory, true, now_ms);
  }
  return request;
}

std::optional<proto::CheckpointMetadata> CheckpointCoordinator::OnAcknowledge(
    uint64_t now_ms, uint64_t checkpoint_id, const proto::TaskSnapshot& snapshot) {
  if (!IsPending(checkpoint_id, Phase::kAwaitingAcks)) return std::nullopt;
  const TaskId task(snapshot.task_id());
  if (pending_->awaiting.erase(task) == 0) return std::nullopt;  // unknown or repeated
  pending_->acked[task] = snapshot;
  if (!pending_->awaiting.empty()) return std::nullopt;

  proto::CheckpointMetadata& metadata = pending_->metadata;
  metadata.set_job_id(options_.job_id.str());
  metadata.set_checkpoint_id(checkpoint_id);
  metadata.set_directory(pending_->directory);
  metadata.set_savepoint(pending_->savepoint);
  metadata.set_triggered_at_ms(pending_->triggered_at_ms);
  metadata.set_completed_at_ms(now_ms);
  for (const TaskId& id : options_.tasks) *metadata.add_tasks() = pending_->acked.at(id);
  *metadata.mutable_spec() = options_.spec;
  pending_->acked.clear();
  pending_->phase = Phase::kPersisting;
  return metadata;
}

Result<CheckpointCompleted> CheckpointCoordinator::OnPersisted(uint64_t checkpoint_id) {
  if (!IsPending(checkpoint_id, Phase::kPersisting)) {
    return Status::FailedPrecondition("checkpoint " + std::to_string(checkpoint_id) + " of job " +
                                      options_.job_id.str() + " is not waiting to be persisted");
  }
  CheckpointCompleted completed;
  completed.metadata = std::move(pending_->metadata);
  pending_.reset();
  ++completed_count_;
  latest_completed_ = completed.metadata;
  if (!completed.metadata.savepoint()) {
    retained_.push_back(completed.metadata.directory());
    while (retained_.size() > options_.retained) {
      completed.to_delete.push_back(std::move(retained_.front()));
      retained_.pop_front();
    }
  }
  return completed;
}

std::optional<CheckpointFailure> CheckpointCoordinator::OnPersistFailed(uint64_t checkpoint_id,
                                                                        const std::string& error) {
  if (!IsPending(checkpoint_id, Phase::kPersisting)) return std::nullopt;
  return FailPending("its metadata could not be written: " + error);
}

std::optional<CheckpointFailure> CheckpointCoordinator::OnDecline(uint64_t checkpoint_id,
                                                                  const TaskId& task,
                                                                  const std::string& reason) {
  if (!IsPending(checkpoint_id, Phase::kAwaitingAcks) || task_set_.count(task) == 0) {
    return std::nullopt;
  }
  return FailPending("task " + task.str() + " declined it: " + reason);
}

std::vector<CheckpointFailure> CheckpointCoordinator::TaskFinished(const TaskId& task) {
  std::vector<CheckpointFailure> failed;
  if (stopped_ || task_set_.count(task) == 0) return failed;
  if (!finished_task_) finished_task_ = task;
  const std::string why = "task " + task.str() + " finished";
  if (pending_ && pending_->phase == Phase::kAwaitingAcks && pending_->awaiting.count(task) > 0) {
    failed.push_back(FailPending(why + " before it acknowledged"));
  }
  FailQueued(why + "; a job whose bounded sources finished takes no more checkpoints", failed);
  return failed;
}

std::vector<CheckpointFailure> CheckpointCoordinator::Stop() {
  std::vector<CheckpointFailure> failed;
  if (stopped_) return failed;
  if (pending_) failed.push_back(FailPending("the job attempt ended before it completed"));
  FailQueued("the job attempt ended first", failed);
  stopped_ = true;
  return failed;
}

}  // namespace sluice::coordinator
