#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "common/ids.h"
#include "common/status.h"
#include "sluice/worker_service.pb.h"
#include "worker/runtime/checkpointing.h"
#include "worker/runtime/task_builder.h"

namespace sluice::runtime {

// A task's part in checkpoints, as Flink's SubtaskCheckpointCoordinator: at checkpoint n's
// barrier it snapshots the task (keyed state, source position, the sink's pending epochs) into
// `<job checkpoint dir>/chk-<n>/<task>`, forwards the barrier and acknowledges or declines; when
// checkpoint n completed, the sink commits.
//
// Snapshots are asynchronous. The synchronous part, on the task's thread between two batches,
// freezes the state backend (RocksStateBackend::Freeze: later writes are kept apart), takes a
// copy-on-write view of the state cache's dirty entries and the timers' changes
// (ChainRunner::BeginSnapshot: swaps two lists, serialises nothing), records the source
// position and the sink's pending epochs, and forwards the barrier. Then, between batches,
// Poll() has the cache write those entries, kSnapshotBudget at a time for up to kSnapshotSlice,
// into the backend's snapshot layer (ChainRunner::ContinueSnapshot); once all are there, a
// thread of the checkpointer writes the frozen state into the checkpoint (sharing the SST
// files the task's previous checkpoint holds) and acknowledges once it is durable, while the
// task goes on; Poll() thaws the backend when that thread is done. One checkpoint at a time: the next
// barrier first finishes the one in flight.
//
// Created by the task on its thread, used there only (its thread only reads what the task
// thread handed it); it borrows the deployment and the listener, which outlive it, and the
// task's state backend, which must outlive it too (the destructor waits for the thread).
class TaskCheckpointer {
 public:
  TaskCheckpointer(const proto::TaskDeployment& deployment, CheckpointListener* listener);
  ~TaskCheckpointer();
  TaskCheckpointer(const TaskCheckpointer&) = delete;
  TaskCheckpointer& operator=(const TaskCheckpointer&) = delete;

  // Snapshots the task at checkpoint n's barrier, forwards the barrier and acknowledges (from
  // the asynchronous part, when the task has keyed state); a snapshot that fails is declined
  // (reported, not an error of the task), and the barrier still goes on so that downstream
  // tasks do not wait for it. An error: the barrier could not be sent, or the state backend
  // could not take back what it kept during the previous asynchronous part.
  Status TakeCheckpoint(uint64_t checkpoint, TaskParts& parts);
  // Between batches: when the asynchronous part in flight is done, thaws the state backend.
  // An error: the backend could not write what it kept meanwhile (the task fails).
  Status Poll(TaskParts& parts);
  // Finishes the checkpoint in flight, if any (its remaining writes, then waits for its
  // thread), and thaws the backend.
  Status Drain(TaskParts& parts);
  // One Poll() writes the cache's entries (and timer changes) kSnapshotBudget at a time for up
  // to kSnapshotSlice: bounded per batch, and done within a few batches even when batches are
  // slow (with state much larger than the cache, a batch of misses can take 100 ms).
  static constexpr size_t kSnapshotBudget = 2048;
  static constexpr std::chrono::microseconds kSnapshotSlice{5000};
  // Checkpoint n completed: the sink commits its epochs up to n.
  Status CommitCheckpoint(uint64_t checkpoint, TaskParts& parts);

 private:
  // The snapshot's parts written under `directory`; "" when it worked, else why not. With
  // keyed state, leaves the backend frozen for the asynchronous part (`*frozen`).
  std::string Snapshot(uint64_t checkpoint, const std::string& directory, TaskParts& parts,
                       proto::TaskSnapshot& snapshot, bool* frozen);
  // The cache's part of the checkpoint in flight: `budget` more writes at a time until all are
  // done (then starts thread_) or `slice` passed. A failure declines the checkpoint and thaws
  // the backend.
  Status ContinueState(TaskParts& parts, size_t budget, std::chrono::microseconds slice);
  // The asynchronous part of checkpoint n, on thread_: writes the frozen state, acknowledges.
  void WriteState(uint64_t checkpoint, std::string directory, std::string base,
                  proto::TaskSnapshot snapshot, std::chrono::steady_clock::time_point started,
                  state::RocksStateBackend* state);

  const proto::TaskDeployment& deployment_;
  CheckpointListener* listener_;
  TaskId id_;
  JobId job_id_;
  // The asynchronous part in flight (thread_ joinable): done_ once it returned; its state
  // directory, which becomes base_ when it worked (written_).
  std::thread thread_;
  std::atomic<bool> done_{false};
  std::atomic<bool> written_{false};
  std::string in_flight_directory_;
  // The checkpoint whose cache entries are still being written (ContinueState), before thread_
  // starts: its number, base, snapshot so far, when its synchronous part ended and the time
  // its writes took on the task's thread.
  bool writing_cache_ = false;
  uint64_t pending_checkpoint_ = 0;
  std::string pending_base_;
  proto::TaskSnapshot pending_snapshot_;
  std::chrono::steady_clock::time_point pending_since_;
  uint64_t pending_task_us_ = 0;
  // The state directory of the task's latest checkpoint written (or restored from): the SST
  // files of the next one are linked from there when it has them.
  std::string base_;
  bool base_known_ = false;
};

// Restoring. The task's keyed state in `directory`: two tables per keyed operator in chain
// order (operator i: state table 2i "<id>", timers table 2i+1 "<id>#timers"); fresh when the
// deployment restores nothing, else restored from the deployment's checkpoint: each operator's
// tables from the old tasks that held it (the key groups of this subtask), whatever their chains
// were. Removes a leftover of a crashed worker first.
Result<std::unique_ptr<state::RocksStateBackend>> OpenTaskState(
    const proto::TaskDeployment& deployment, const std::string& directory,
    const std::vector<std::string>& operator_ids);
// A restored task's sink takes over the epochs the old sink subtasks prepared (`sink_op` is the
// chain's last operator); nothing when the chain has no sink or the deployment restores nothing.
Status RestoreSink(const proto::TaskDeployment& deployment, const proto::Operator& sink_op,
                   TaskParts& parts);

}  // namespace sluice::runtime
