#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/ids.h"
#include "common/status.h"
#include "sluice/worker_service.pb.h"
#include "worker/runtime/checkpointing.h"
#include "worker/runtime/task_builder.h"

namespace sluice::runtime {

// A task's part in checkpoints, as Flink's SubtaskCheckpointCoordinator: at checkpoint n's
// barrier it snapshots the task (keyed state, source position, the sink's pending epochs) into
// `<job checkpoint dir>/chk-<n>/<task>`, forwards the barrier and acknowledges or declines; when
// checkpoint n completed, the sink commits. Created by the task on its thread, used there only;
// it borrows the deployment and the listener, which outlive it.
class TaskCheckpointer {
 public:
  TaskCheckpointer(const proto::TaskDeployment& deployment, CheckpointListener* listener);

  // Snapshots the task at checkpoint n's barrier, forwards the barrier and acknowledges; a
  // snapshot that fails is declined (reported, not an error of the task), and the barrier still
  // goes on so that downstream tasks do not wait for it. An error: the barrier could not be sent.
  Status TakeCheckpoint(uint64_t checkpoint, TaskParts& parts);
  // Checkpoint n completed: the sink commits its epochs up to n.
  Status CommitCheckpoint(uint64_t checkpoint, TaskParts& parts);

 private:
  // The snapshot's parts written under `directory`; "" when it worked, else why not.
  std::string Snapshot(uint64_t checkpoint, const std::string& directory, TaskParts& parts,
                       proto::TaskSnapshot& snapshot);

  const proto::TaskDeployment& deployment_;
  CheckpointListener* listener_;
  TaskId id_;
  JobId job_id_;
};

// Restoring. The task's keyed state in `directory`: fresh when the deployment restores nothing,
// else restored from the deployment's checkpoint (the key groups of this subtask, out of the old
// subtasks' snapshots of `operator_id`). Removes a leftover of a crashed worker first.
Result<std::unique_ptr<state::RocksStateBackend>> OpenTaskState(
    const proto::TaskDeployment& deployment, const std::string& directory,
    const std::string& operator_id);
// A restored task's sink takes over the epochs the old sink subtasks prepared (`sink_op` is the
// chain's last operator); nothing when the chain has no sink or the deployment restores nothing.
Status RestoreSink(const proto::TaskDeployment& deployment, const proto::Operator& sink_op,
                   TaskParts& parts);

}  // namespace sluice::runtime
