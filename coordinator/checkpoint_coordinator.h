#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "sluice/checkpoint.pb.h"
#include "sluice/job.pb.h"

namespace sluice::coordinator {

// What a zero in JobSpec.checkpoint_timeout_ms / checkpoints_retained means.
inline constexpr uint64_t kDefaultCheckpointTimeoutMs = 60000;
inline constexpr uint32_t kDefaultCheckpointsRetained = 3;

// What one job attempt's checkpoint coordinator is built from.
struct CheckpointCoordinatorOptions {
  JobId job_id;
  proto::JobSpec spec;       // copied into every checkpoint's metadata
  uint64_t interval_ms = 0;  // 0: no periodic checkpoints (savepoints still work)
  uint64_t timeout_ms = kDefaultCheckpointTimeoutMs;
  uint32_t retained = kDefaultCheckpointsRetained;  // completed checkpoints kept, at least 1
  std::vector<TaskId> tasks;          // every task of the attempt: each must acknowledge
  std::vector<TaskId> trigger_tasks;  // those that start with a source (a subset of `tasks`)
  std::string job_dir;                // checkpoint n goes to <job_dir>/chk-<n>
  // The first id this attempt uses. After a restart, pass the previous attempt's
  // next_checkpoint_id(): ids (and so chk-<n> directories) are then never reused, even those
  // of checkpoints that failed, whose directories may still be being deleted.
  uint64_t first_checkpoint_id = 1;
  // After a restart: the checkpoint or savepoint it restored from (latest_completed() until a
  // new one completes), and the previous attempt's retained_directories() so that retention
  // goes on counting them.
  std::optional<proto::CheckpointMetadata> restored_from;
  std::vector<std::string> retained_directories;

  // Options for `spec` with its zeros resolved (interval, timeout, retained); the caller adds
  // the tasks and, after a restart, what the previous attempt left.
  static CheckpointCoordinatorOptions ForSpec(JobId job_id, const proto::JobSpec& spec,
                                              std::string job_dir);
};

// What `status` and the metrics show of a completed checkpoint: its slowest task's synchronous
// and asynchronous parts (microseconds) and its keyed state's bytes over all tasks, full and
// written since the tasks' previous checkpoints.
struct CheckpointCost {
  uint64_t sync_us = 0;
  uint64_t async_us = 0;
  uint64_t full_bytes = 0;
  uint64_t incremental_bytes = 0;
};
CheckpointCost CostOf(const proto::CheckpointMetadata& metadata);

// Send TriggerCheckpoint(checkpoint_id, directory) to each of `tasks`.
struct CheckpointTrigger {
  uint64_t checkpoint_id = 0;
  std::string directory;
  bool savepoint = false;
  std::vector<TaskId> tasks;
};

// A checkpoint or savepoint that will not complete. When `triggered`, tasks may have written
// into `directory`: the caller deletes it (a savepoint's directory too, so the caller gives
// each savepoint a directory of its own). A savepoint that was only queued wrote nothing.
struct CheckpointFailure {
  uint64_t checkpoint_id = 0;
  std::string directory;
  bool savepoint = false;
  bool triggered = true;
  std::string reason;  // names the job, the checkpoint and, where one is to blame, the task
};

// A checkpoint whose metadata is persisted: send NotifyCheckpointComplete(id) to every task,
// then delete the directories of the checkpoints retention let go.
struct CheckpointCompleted {
  proto::CheckpointMetadata metadata;  // metadata.savepoint(): answer the user's request
  std::vector<std::string> to_delete;
};

struct [[nodiscard]] CheckpointTick {
  std::optional<CheckpointTrigger> trigger;
  std::vector<CheckpointFailure> failed;  // e.g. the pending checkpoint timed out
};

// What TriggerSavepoint did: the id the savepoint will have (to match the later
// CheckpointCompleted or CheckpointFailure to the user's request) and, when nothing was
// pending, the trigger to send now; otherwise the savepoint is queued and a later Tick
// triggers it.
struct SavepointRequest {
  uint64_t checkpoint_id = 0;
  std::optional<CheckpointTrigger> trigger;
};

// Decides when one job attempt takes checkpoints and savepoints and when they complete or
// fail. Pure logic: no I/O, clock, threads or locks; the caller passes the time, performs the
// actions returned (send triggers and notifications, write metadata, delete directories) and
// serialises the calls under its own lock. Created when an attempt's tasks are deployed,
// stopped and dropped when the attempt ends (finish, cancel, failure or restart); the
// coordinator's job record owns it.
//
// At most one checkpoint is pending. Its life: triggered (Tick or TriggerSavepoint) ->
// acknowledged by every task (OnAcknowledge returns the metadata to persist) -> persisted
// (OnPersisted: completed) or not (OnPersistFailed). It fails instead when a task declines
// it, when it times out (Tick), when a task it waits for finishes, or when the attempt stops.
// Acks and declines for other ids, for tasks not in the attempt, or repeated, are ignored.
class CheckpointCoordinator {
 public:
  // Internal error when the options contradict themselves (no tasks, an unknown or repeated
  // trigger task, retained 0, a periodic interval without a directory, ids not above the
  // restored checkpoint). `now_ms` starts the first interval.
  [[nodiscard]] static Result<CheckpointCoordinator> Create(CheckpointCoordinatorOptions options,
                                                            uint64_t now_ms);

  // Times out the pending checkpoint, then triggers the next one when none is pending: a
  // queued savepoint first, else a periodic checkpoint once interval_ms passed since the last
  // trigger (or creation), unless a task finished or the coordinator stopped.
  CheckpointTick Tick(uint64_t now_ms);

  // A savepoint into `directory`: triggered now, or queued behind the pending checkpoint.
  // FailedPrecondition (naming the job) once a task finished or the coordinator stopped.
  [[nodiscard]] Result<SavepointRequest> TriggerSavepoint(uint64_t now_ms,
                                                          const std::string& directory);

  // A task's ack. When it is the last one the pending checkpoint waited for, returns the
  // metadata the caller persists (CheckpointStore::WriteMetadata) before it calls OnPersisted
  // or OnPersistFailed; until then the checkpoint neither times out nor takes acks or declines.
  std::optional<proto::CheckpointMetadata> OnAcknowledge(uint64_t now_ms, uint64_t checkpoint_id,
                                                         const proto::TaskSnapshot& snapshot);
  // The metadata returned by OnAcknowledge is on disk: the checkpoint is complete.
  // FailedPrecondition when `checkpoint_id` is not waiting to be persisted.
  [[nodiscard]] Result<CheckpointCompleted> OnPersisted(uint64_t checkpoint_id);
  // The metadata could not be written: the checkpoint fails with `error` in its reason.
  std::optional<CheckpointFailure> OnPersistFailed(uint64_t checkpoint_id,
                                                   const std::string& error);

  // A task could not take its part: the pending checkpoint fails, naming the task and reason.
  std::optional<CheckpointFailure> OnDecline(uint64_t checkpoint_id, const TaskId& task,
                                             const std::string& reason);

  // A task finished (its bounded source ran dry). No checkpoint is triggered any more — a
  // limitation: the finished task can no longer take part, so a job whose bounded sources
  // finished takes no more checkpoints. Fails the pending checkpoint if it still waited for
  // this task, and the queued savepoints.
  std::vector<CheckpointFailure> TaskFinished(const TaskId& task);

  // The attempt ends (finished, cancelled, failed or restarting): the pending checkpoint and
  // queued savepoints fail, and every later call is a no-op (TriggerSavepoint refuses).
  std::vector<CheckpointFailure> Stop();

  // The latest completed checkpoint or savepoint (restore from it), nullptr when none.
  const proto::CheckpointMetadata* latest_completed() const {
    return latest_completed_ ? &*latest_completed_ : nullptr;
  }
  // Checkpoints and savepoints completed, and failed after they were triggered, by this
  // attempt.
  uint64_t completed_count() const { return completed_count_; }
  uint64_t failed_count() const { return failed_count_; }
  std::optional<uint64_t> pending_id() const;
  size_t queued_savepoints() const { return queued_.size(); }
  // The id the next checkpoint or savepoint gets (for the next attempt's first_checkpoint_id).
  uint64_t next_checkpoint_id() const { return next_id_; }
  // The completed non-savepoint checkpoints kept, oldest first.
  const std::deque<std::string>& retained_directories() const { return retained_; }
  bool stopped() const { return stopped_; }

 private:
  enum class Phase { kAwaitingAcks, kPersisting };
  struct Pending {
    uint64_t id = 0;
    std::string directory;
    bool savepoint = false;
    uint64_t triggered_at_ms = 0;
    Phase phase = Phase::kAwaitingAcks;
    std::set<TaskId> awaiting;
    std::map<TaskId, proto::TaskSnapshot> acked;
    proto::CheckpointMetadata metadata;  // with kPersisting
  };
  struct QueuedSavepoint {
    uint64_t id = 0;
    std::string directory;
  };

  explicit CheckpointCoordinator(CheckpointCoordinatorOptions options, uint64_t now_ms);

  CheckpointTrigger Start(uint64_t id, std::string directory, bool savepoint, uint64_t now_ms);
  // Ends the pending checkpoint as failed; the caller checked there is one.
  CheckpointFailure FailPending(const std::string& why);
  // Fails every queued savepoint with `why`, appending to `out`.
  void FailQueued(const std::string& why, std::vector<CheckpointFailure>& out);
  bool IsPending(uint64_t checkpoint_id, Phase phase) const;
  std::string Describe(uint64_t checkpoint_id, bool savepoint) const;

  CheckpointCoordinatorOptions options_;
  std::set<TaskId> task_set_;
  uint64_t next_id_ = 1;
  uint64_t last_trigger_ms_ = 0;
  std::optional<Pending> pending_;
  std::deque<QueuedSavepoint> queued_;
  std::optional<proto::CheckpointMetadata> latest_completed_;
  std::deque<std::string> retained_;
  std::optional<TaskId> finished_task_;  // the first task that finished
  bool stopped_ = false;
  uint64_t completed_count_ = 0;
  uint64_t failed_count_ = 0;
};

}  // namespace sluice::coordinator
