#include "worker/runtime/task_checkpointer.h"

#include <spdlog/spdlog.h>

#include <filesystem>

#include "common/job_defaults.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::runtime {

TaskCheckpointer::TaskCheckpointer(const proto::TaskDeployment& deployment,
                                   CheckpointListener* listener)
    : deployment_(deployment),
      listener_(listener),
      id_(deployment.task_id()),
      job_id_(deployment.job_id()) {}

Status TaskCheckpointer::TakeCheckpoint(uint64_t checkpoint, TaskParts& parts) {
  proto::TaskSnapshot snapshot;
  snapshot.set_task_id(id_.str());
  for (const auto& op : deployment_.operator_ids()) snapshot.add_operator_ids(op);
  snapshot.set_subtask(deployment_.subtask());
  snapshot.set_parallelism(std::max(1u, deployment_.parallelism()));
  snapshot.set_max_parallelism(EffectiveMaxParallelism(deployment_.spec()));
  std::string failure;
  const std::string& job_directory = deployment_.checkpoint_dir();
  if (job_directory.empty()) {
    failure = "the job has no checkpoint directory";
  } else {
    failure = Snapshot(checkpoint, TaskCheckpointDirectory(job_directory, checkpoint, id_), parts,
                       snapshot);
  }
  // Downstream tasks align on this barrier whether or not this snapshot worked.
  if (parts.exchange_sink != nullptr) {
    SLUICE_RETURN_IF_ERROR(parts.exchange_sink->SendBarrier(checkpoint));
  }
  if (listener_ == nullptr) return Status::Ok();
  if (failure.empty()) {
    listener_->Acknowledge(job_id_, checkpoint, snapshot);
  } else {
    spdlog::warn("task {}: checkpoint {} declined: {}", id_.str(), checkpoint, failure);
    listener_->Decline(job_id_, id_, checkpoint, failure);
  }
  return Status::Ok();
}

std::string TaskCheckpointer::Snapshot(uint64_t checkpoint, const std::string& directory,
                                       TaskParts& parts, proto::TaskSnapshot& snapshot) {
  const std::string name = TaskFileName(id_);
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return "cannot create '" + directory + "': " + error.message();
  if (parts.state != nullptr) {
    Status taken = parts.runner->SnapshotState();
    if (taken.ok()) taken = parts.state->Checkpoint(directory + "/state");
    if (!taken.ok()) return "keyed state: " + taken.message();
    snapshot.set_state_path(name + "/state");
    snapshot.set_keyed_operator_id(parts.keyed_operator_id);
  }
  if (parts.has_source) snapshot.set_source_position(parts.source->Position());
  if (parts.has_sink) {
    std::filesystem::create_directories(directory + "/sink", error);
    auto prepared = parts.sink->PrepareCommit(checkpoint, directory + "/sink");
    if (!prepared.ok()) return prepared.status().message();
    snapshot.set_sink_state(*prepared);
  }
  return "";
}

Status TaskCheckpointer::CommitCheckpoint(uint64_t checkpoint, TaskParts& parts) {
  return parts.sink->CommitCheckpoint(checkpoint);
}

Result<std::unique_ptr<state::RocksStateBackend>> OpenTaskState(
    const proto::TaskDeployment& deployment, const std::string& directory,
    const std::string& operator_id) {
  const std::vector<std::string> tables = {operator_id, operator_id + "#timers"};
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);  // a leftover of a crashed worker
  if (!deployment.has_restore()) return state::RocksStateBackend::Open(directory, tables);
  const proto::RestoreSpec& restore = deployment.restore();
  const uint32_t max_parallelism = EffectiveMaxParallelism(deployment.spec());
  std::vector<state::RestoreSource> sources;
  for (const proto::TaskSnapshot* snapshot : KeyedSnapshots(restore, operator_id)) {
    if (snapshot->max_parallelism() != max_parallelism) {
      return Status::User("cannot restore from " + restore.directory() + ": it has " +
                          std::to_string(snapshot->max_parallelism()) + " key groups and the job " +
                          std::to_string(max_parallelism) +
                          " (maxParallelism must stay the same)");
    }
    auto range = state::KeyGroupRangeOf(snapshot->subtask(), std::max(1u, snapshot->parallelism()),
                                        max_parallelism);
    if (!range.ok()) return range.status();
    sources.push_back(state::RestoreSource{restore.directory() + "/" + snapshot->state_path(),
                                           range->first, range->last});
  }
  auto range = state::KeyGroupRangeOf(deployment.subtask(), std::max(1u, deployment.parallelism()),
                                      max_parallelism);
  if (!range.ok()) return range.status();
  return state::RocksStateBackend::Restore(directory, tables, sources, range->first, range->last);
}

Status RestoreSink(const proto::TaskDeployment& deployment, const proto::Operator& sink_op,
                   TaskParts& parts) {
  if (!parts.has_sink || !deployment.has_restore()) return Status::Ok();
  return parts.sink->Restore(deployment.restore().checkpoint_id(),
                             SinkStates(deployment.restore(), sink_op.id(), deployment.subtask(),
                                        std::max(1u, deployment.parallelism())));
}

}  // namespace sluice::runtime
