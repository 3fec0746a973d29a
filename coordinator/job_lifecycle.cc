#include "coordinator/job_lifecycle.h"

#include <algorithm>
#include <utility>

namespace sluice::coordinator {
namespace {

bool IsLive(proto::TaskState state) {
  return state == proto::TASK_DEPLOYING || state == proto::TASK_RUNNING ||
         state == proto::TASK_STATE_UNSPECIFIED;
}

std::string Describe(const TrackedTask& task) {
  return "task " + task.id.str() + " (" + task.operators + ")";
}

}  // namespace

bool IsTerminal(proto::JobState state) {
  return state == proto::JOB_FINISHED || state == proto::JOB_CANCELED || state == proto::JOB_FAILED;
}

proto::JobState NextJobState(proto::JobState current, JobEvent event) {
  if (IsTerminal(current)) return current;
  switch (event) {
    case JobEvent::kDeployed:
      return proto::JOB_RUNNING;
    case JobEvent::kAllTasksFinished:
      return proto::JOB_FINISHED;
    case JobEvent::kTaskFailed:
    case JobEvent::kWorkerLost:
      return proto::JOB_FAILED;
    case JobEvent::kCancelRequested:
      return proto::JOB_CANCELED;
  }
  return current;
}

JobTracker::JobTracker(std::vector<TrackedTask> tasks) : tasks_(std::move(tasks)) {
  index_.reserve(tasks_.size());
  for (size_t i = 0; i < tasks_.size(); ++i) {
    index_.emplace(tasks_[i].id, i);
    if (tasks_[i].state == proto::TASK_FINISHED) ++finished_;
  }
}

TrackedTask* JobTracker::FindMutable(const TaskId& id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &tasks_[it->second];
}

const TrackedTask* JobTracker::Find(const TaskId& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &tasks_[it->second];
}

Transition JobTracker::Apply(JobEvent event, std::vector<TaskId> to_cancel) {
  const proto::JobState before = state_;
  state_ = NextJobState(state_, event);
  return Transition{state_, state_ != before, std::move(to_cancel)};
}

std::vector<TaskId> JobTracker::CancelLiveTasks() {
  std::vector<TaskId> cancelled;
  for (TrackedTask& task : tasks_) {
    if (!IsLive(task.state)) continue;
    task.state = proto::TASK_CANCELED;
    cancelled.push_back(task.id);
  }
  return cancelled;
}

Transition JobTracker::OnDeployed() {
  if (IsTerminal(state_)) return Unchanged();
  for (TrackedTask& task : tasks_) {
    if (task.state == proto::TASK_DEPLOYING) task.state = proto::TASK_RUNNING;
  }
  const proto::JobState before = state_;
  Transition transition = Apply(JobEvent::kDeployed);
  // Tasks may have finished before the deploy was acknowledged.
  if (std::all_of(tasks_.begin(), tasks_.end(),
                  [](const TrackedTask& t) { return t.state == proto::TASK_FINISHED; })) {
    transition = Apply(JobEvent::kAllTasksFinished);
  }
  transition.changed = state_ != before;
  return transition;
}

Result<Transition> JobTracker::OnTaskFinished(const TaskId& id) {
  TrackedTask* task = FindMutable(id);
  if (task == nullptr) return Status::NotFound("the job has no task " + id.str());
  if (IsTerminal(state_) || !IsLive(task->state)) return Unchanged();  // late or repeated
  task->state = proto::TASK_FINISHED;
  if (++finished_ == tasks_.size()) return Apply(JobEvent::kAllTasksFinished);
  return Unchanged();
}

Result<Transition> JobTracker::OnTaskFailed(const TaskId& id, const std::string& error,
                                            proto::FailureDomain domain) {
  TrackedTask* task = FindMutable(id);
  if (task == nullptr) return Status::NotFound("the job has no task " + id.str());
  if (IsTerminal(state_) || !IsLive(task->state)) return Unchanged();  // late or repeated
  task->state = proto::TASK_FAILED;
  task->failure = error;
  task->domain = domain;
  failure_ = Describe(*task) + " failed: " + error;
  failure_domain_ = domain;
  return Apply(JobEvent::kTaskFailed, CancelLiveTasks());
}

Transition JobTracker::OnCancelRequested() {
  if (IsTerminal(state_)) return Unchanged();
  return Apply(JobEvent::kCancelRequested, CancelLiveTasks());
}

Transition JobTracker::OnWorkerLost(const WorkerId& worker, const std::string& how) {
  if (IsTerminal(state_)) return Unchanged();
  std::string lost;
  for (TrackedTask& task : tasks_) {
    if (task.worker != worker || !IsLive(task.state)) continue;
    task.state = proto::TASK_FAILED;
    task.failure = "worker " + worker.str() + " " + how;
    task.domain = proto::FAILURE_EXTERNAL;
    lost += (lost.empty() ? "" : ", ") + Describe(task);
  }
  if (lost.empty()) return Unchanged();  // the worker ran nothing live of ours
  failure_ = "worker " + worker.str() + " " + how + " while running " + lost;
  failure_domain_ = proto::FAILURE_EXTERNAL;
  return Apply(JobEvent::kWorkerLost, CancelLiveTasks());
}

}  // namespace sluice::coordinator
