#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator {

// What can happen to a job after it was admitted.
enum class JobEvent {
  kDeployed,          // every task was handed to its worker
  kAllTasksFinished,  // the last task finished (bounded sources ran dry)
  kTaskFailed,        // a task reported a failure
  kCancelRequested,   // a client asked to cancel
  kWorkerLost,        // a worker running one of the job's tasks stopped heartbeating
};

// FINISHED, CANCELED and FAILED: nothing moves a job out of them.
bool IsTerminal(proto::JobState state);

// The job state machine: CREATED -> RUNNING -> FINISHED | CANCELED | FAILED, where CREATED can
// also go straight to any terminal state. Terminal states absorb every event.
proto::JobState NextJobState(proto::JobState current, JobEvent event);

// One task of a job, as the tracker sees it.
struct TrackedTask {
  TaskId id;
  std::string operators;  // the chain's operator names joined with " -> "
  WorkerId worker;
  proto::TaskState state = proto::TASK_DEPLOYING;
  std::string failure;  // with TASK_FAILED: why
  proto::FailureDomain domain = proto::FAILURE_DOMAIN_UNSPECIFIED;  // with TASK_FAILED
};

// What an event did: the job's state afterwards, and the tasks the caller must now cancel on
// their workers (the survivors of a failure, or every live task on a cancel).
struct [[nodiscard]] Transition {
  proto::JobState state = proto::JOB_CREATED;
  bool changed = false;  // whether the job's state changed
  std::vector<TaskId> to_cancel;
};

// Tracks one attempt of a job (the job's lifecycle across attempts is JobLifecycle, in
// job_state_machine.h): its state and its tasks' states through the events above; pure (no I/O, no
// clock). Created when the job is scheduled, destroyed with the job's record. Not thread-safe:
// the owner (the coordinator's job record) serialises calls.
class JobTracker {
 public:
  explicit JobTracker(std::vector<TrackedTask> tasks);

  Transition OnDeployed();
  // NotFound for a task this job does not have.
  [[nodiscard]] Result<Transition> OnTaskFinished(const TaskId& task);
  // The job fails with a reason naming the task's operators and `error`; the other live tasks
  // are to be cancelled.
  // `domain` says where the failure comes from (the failure policy decides on a restart by it).
  [[nodiscard]] Result<Transition> OnTaskFailed(
      const TaskId& task, const std::string& error,
      proto::FailureDomain domain = proto::FAILURE_DOMAIN_UNSPECIFIED);
  Transition OnCancelRequested();
  // Fails the job if the worker ran any live task of it (recovery from checkpoints comes later).
  // `how` says what happened to it, for the failure: "was lost" (silent), "left" (it said so).
  Transition OnWorkerLost(const WorkerId& worker, const std::string& how = "was lost");

  proto::JobState state() const { return state_; }
  // With JOB_FAILED: why, naming the task's operators or the worker.
  const std::string& failure() const { return failure_; }
  // With JOB_FAILED: where the failure came from (a lost worker is an external failure).
  proto::FailureDomain failure_domain() const { return failure_domain_; }
  const std::vector<TrackedTask>& tasks() const { return tasks_; }
  // The task with this id, or null; constant time (heartbeats look up every task they carry).
  const TrackedTask* Find(const TaskId& id) const;

 private:
  TrackedTask* FindMutable(const TaskId& id);
  Transition Apply(JobEvent event, std::vector<TaskId> to_cancel = {});
  Transition Unchanged() const { return Transition{state_, false, {}}; }
  // Marks every live task CANCELED (bar those failed just now) and returns their ids.
  std::vector<TaskId> CancelLiveTasks();

  proto::JobState state_ = proto::JOB_CREATED;
  std::string failure_;
  proto::FailureDomain failure_domain_ = proto::FAILURE_DOMAIN_UNSPECIFIED;
  std::vector<TrackedTask> tasks_;
  std::unordered_map<TaskId, size_t> index_;  // tasks_ by id
  size_t finished_ = 0;                        // tasks FINISHED
};

}  // namespace sluice::coordinator
