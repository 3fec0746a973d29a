#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/checkpoint_layout.h"
#include "common/ids.h"
#include "sluice/checkpoint.pb.h"

namespace sluice::runtime {

// Where a task's part of a checkpoint goes (the worker sends it to the coordinator).
// Called from task threads; implementations must be thread-safe.
class CheckpointListener {
 public:
  virtual ~CheckpointListener() = default;
  virtual void Acknowledge(const JobId& job, uint64_t checkpoint,
                           const proto::TaskSnapshot& snapshot) = 0;
  virtual void Decline(const JobId& job, const TaskId& task, uint64_t checkpoint,
                       const std::string& reason) = 0;
};

// What other threads ask of a running task about checkpoints: a trigger (tasks with a source)
// and completions (sinks commit). The task thread takes them between batches. Thread-safe.
class CheckpointMailbox {
 public:
  void Trigger(uint64_t checkpoint) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (checkpoint > trigger_) trigger_ = checkpoint;
  }
  void Complete(uint64_t checkpoint) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (checkpoint > completed_) completed_ = checkpoint;
  }
  // The checkpoint to take now, once per trigger.
  std::optional<uint64_t> TakeTrigger() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (trigger_ <= taken_trigger_) return std::nullopt;
    taken_trigger_ = trigger_;
    return trigger_;
  }
  // The latest completed checkpoint not handed out yet.
  std::optional<uint64_t> TakeCompleted() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (completed_ <= taken_completed_) return std::nullopt;
    taken_completed_ = completed_;
    return completed_;
  }

 private:
  std::mutex mutex_;
  uint64_t trigger_ = 0;
  uint64_t taken_trigger_ = 0;
  uint64_t completed_ = 0;
  uint64_t taken_completed_ = 0;
};

// TaskFileName, CheckpointDirectory: common/checkpoint_layout.h. A task's folder in checkpoint n.
std::string TaskCheckpointDirectory(const std::string& job_directory, uint64_t checkpoint,
                                    const TaskId& task);

// The keyed operators whose state a snapshot holds, in chain order: keyed_operator_ids, or
// keyed_operator_id alone in a snapshot written before a task could hold several.
std::vector<std::string> KeyedOperatorsOf(const proto::TaskSnapshot& snapshot);

// From a restore spec, what one new task takes over: the snapshots of the old tasks that ran
// `operator_id` as one of their keyed operators, as their source (first operator) or as their
// sink (last operator), resp.
std::vector<const proto::TaskSnapshot*> KeyedSnapshots(const proto::RestoreSpec& restore,
                                                       const std::string& operator_id);
std::vector<std::string> SourcePositions(const proto::RestoreSpec& restore,
                                         const std::string& operator_id);
// The sink states of the old subtasks j with j mod parallelism == subtask.
std::vector<std::string> SinkStates(const proto::RestoreSpec& restore,
                                    const std::string& operator_id, uint32_t subtask,
                                    uint32_t parallelism);

}  // namespace sluice::runtime
