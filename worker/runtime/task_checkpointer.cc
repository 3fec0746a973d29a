#include "worker/runtime/task_checkpointer.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <limits>
#include <map>

#include "common/job_defaults.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::runtime {

namespace {

uint64_t MicrosSince(std::chrono::steady_clock::time_point start) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                   std::chrono::steady_clock::now() - start)
                                   .count());
}

}  // namespace

TaskCheckpointer::TaskCheckpointer(const proto::TaskDeployment& deployment,
                                   CheckpointListener* listener)
    : deployment_(deployment),
      listener_(listener),
      id_(deployment.task_id()),
      job_id_(deployment.job_id()) {}

TaskCheckpointer::~TaskCheckpointer() {
  if (thread_.joinable()) thread_.join();
}

Status TaskCheckpointer::TakeCheckpoint(uint64_t checkpoint, TaskParts& parts) {
  SLUICE_RETURN_IF_ERROR(Drain(parts));
  const auto started = std::chrono::steady_clock::now();
  if (!base_known_) {
    // A restored task whose files are the checkpoint's (Restore's fast path: one old task of
    // the same parallelism held all its keyed operators) shares them from its first checkpoint.
    base_ = parts.state != nullptr ? parts.state->cloned_from() : "";
    base_known_ = true;
  }
  proto::TaskSnapshot snapshot;
  snapshot.set_task_id(id_.str());
  for (const auto& op : deployment_.operator_ids()) snapshot.add_operator_ids(op);
  snapshot.set_subtask(deployment_.subtask());
  snapshot.set_parallelism(std::max(1u, deployment_.parallelism()));
  snapshot.set_max_parallelism(EffectiveMaxParallelism(deployment_.spec()));
  std::string failure;
  std::string directory;
  bool frozen = false;
  const std::string& job_directory = deployment_.checkpoint_dir();
  if (job_directory.empty()) {
    failure = "the job has no checkpoint directory";
  } else {
    directory = TaskCheckpointDirectory(job_directory, checkpoint, id_);
    failure = Snapshot(checkpoint, directory, parts, snapshot, &frozen);
  }
  if (frozen && !failure.empty()) {
    parts.runner->AbortSnapshot();
    SLUICE_RETURN_IF_ERROR(parts.state->Thaw());
    frozen = false;
  }
  // The synchronous part is the snapshot's; forwarding the barrier may wait for downstream
  // tasks to take data (backpressure), which is not the snapshot's cost.
  snapshot.set_sync_duration_us(MicrosSince(started));
  // Downstream tasks align on this barrier whether or not this snapshot worked.
  if (parts.exchange_sink != nullptr) {
    Status sent = parts.exchange_sink->SendBarrier(checkpoint);
    if (!sent.ok()) {
      if (frozen) {
        parts.runner->AbortSnapshot();
        parts.state->Thaw().IgnoreError();
      }
      return sent;
    }
  }
  if (frozen) {
    writing_cache_ = true;
    pending_checkpoint_ = checkpoint;
    pending_base_ = base_;
    pending_snapshot_ = std::move(snapshot);
    pending_since_ = std::chrono::steady_clock::now();
    pending_task_us_ = 0;
    in_flight_directory_ = directory + "/state";
    return Status::Ok();
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

Status TaskCheckpointer::ContinueState(TaskParts& parts, size_t budget,
                                       std::chrono::microseconds slice) {
  const auto started = std::chrono::steady_clock::now();
  Result<bool> done = false;
  while (done.ok() && !*done && std::chrono::steady_clock::now() - started < slice) {
    done = parts.runner->ContinueSnapshot(budget);
  }
  pending_task_us_ += MicrosSince(started);
  if (done.ok() && !*done) return Status::Ok();
  writing_cache_ = false;
  if (!done.ok()) {
    const std::string failure = "keyed state: " + done.status().message();
    spdlog::warn("task {}: checkpoint {} declined: {}", id_.str(), pending_checkpoint_, failure);
    if (listener_ != nullptr) listener_->Decline(job_id_, id_, pending_checkpoint_, failure);
    parts.runner->AbortSnapshot();
    return parts.state->Thaw();
  }
  spdlog::debug("task {}: checkpoint {}: the cache's entries written in {} us on the task's thread",
                id_.str(), pending_checkpoint_, pending_task_us_);
  done_.store(false);
  written_.store(false);
  thread_ = std::thread(&TaskCheckpointer::WriteState, this, pending_checkpoint_,
                        in_flight_directory_, pending_base_, std::move(pending_snapshot_),
                        pending_since_, parts.state.get());
  return Status::Ok();
}

void TaskCheckpointer::WriteState(uint64_t checkpoint, std::string directory, std::string base,
                                  proto::TaskSnapshot snapshot,
                                  std::chrono::steady_clock::time_point started,
                                  state::RocksStateBackend* state) {
  Result<state::CheckpointStats> written = state->WriteCheckpoint(directory, base);
  if (written.ok()) {
    snapshot.set_async_duration_us(MicrosSince(started));
    snapshot.set_state_full_bytes(written->full_bytes);
    snapshot.set_state_incremental_bytes(written->incremental_bytes);
    written_.store(true);
    spdlog::debug("task {}: checkpoint {}: sync {} us, async {} us, {} of {} bytes new",
                  id_.str(), checkpoint, snapshot.sync_duration_us(),
                  snapshot.async_duration_us(), written->incremental_bytes, written->full_bytes);
    if (listener_ != nullptr) listener_->Acknowledge(job_id_, checkpoint, snapshot);
  } else {
    const std::string failure = "keyed state: " + written.status().message();
    spdlog::warn("task {}: checkpoint {} declined: {}", id_.str(), checkpoint, failure);
    if (listener_ != nullptr) listener_->Decline(job_id_, id_, checkpoint, failure);
  }
  done_.store(true);
}

Status TaskCheckpointer::Poll(TaskParts& parts) {
  if (writing_cache_) return ContinueState(parts, kSnapshotBudget, kSnapshotSlice);
  if (!thread_.joinable() || !done_.load()) return Status::Ok();
  return Drain(parts);
}

Status TaskCheckpointer::Drain(TaskParts& parts) {
  if (writing_cache_) SLUICE_RETURN_IF_ERROR(ContinueState(parts, std::numeric_limits<size_t>::max(),
                                                      std::chrono::hours(24)));
  if (!thread_.joinable()) return Status::Ok();
  thread_.join();
  if (written_.load()) base_ = in_flight_directory_;
  return parts.state->Thaw();
}

std::string TaskCheckpointer::Snapshot(uint64_t checkpoint, const std::string& directory,
                                       TaskParts& parts, proto::TaskSnapshot& snapshot,
                                       bool* frozen) {
  const std::string name = TaskFileName(id_);
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return "cannot create '" + directory + "': " + error.message();
  if (parts.state != nullptr) {
    // The backend keeps later writes apart; the cache hands it the state at the barrier in
    // parts, between batches (ContinueState), into the snapshot's layer.
    Status taken = parts.state->Freeze();
    if (!taken.ok()) return "keyed state: " + taken.message();
    *frozen = true;
    taken = parts.runner->BeginSnapshot();
    if (!taken.ok()) return "keyed state: " + taken.message();
    snapshot.set_state_path(name + "/state");
    snapshot.set_keyed_operator_id(parts.keyed_operator_ids.front());
    for (const std::string& id : parts.keyed_operator_ids) snapshot.add_keyed_operator_ids(id);
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
    const std::vector<std::string>& operator_ids) {
  std::vector<std::string> tables;
  for (const std::string& id : operator_ids) {
    tables.push_back(id);
    tables.push_back(id + "#timers");
  }
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);  // a leftover of a crashed worker
  state::RocksStateOptions options;
  options.flush_on_close = false;  // the live instance goes with the task
  if (!deployment.has_restore()) return state::RocksStateBackend::Open(directory, tables, options);
  const proto::RestoreSpec& restore = deployment.restore();
  const uint32_t max_parallelism = EffectiveMaxParallelism(deployment.spec());
  // One source per old task snapshot, giving the tables of those of our operators it held.
  std::vector<state::RestoreSource> sources;
  std::map<const proto::TaskSnapshot*, size_t> source_of;
  for (const std::string& id : operator_ids) {
    for (const proto::TaskSnapshot* snapshot : KeyedSnapshots(restore, id)) {
      if (snapshot->max_parallelism() != max_parallelism) {
        return Status::User("cannot restore from " + restore.directory() + ": it has " +
                            std::to_string(snapshot->max_parallelism()) +
                            " key groups and the job " + std::to_string(max_parallelism) +
                            " (maxParallelism must stay the same)");
      }
      auto [at, added] = source_of.emplace(snapshot, sources.size());
      if (added) {
        auto range = state::KeyGroupRangeOf(
            snapshot->subtask(), std::max(1u, snapshot->parallelism()), max_parallelism);
        if (!range.ok()) return range.status();
        sources.push_back(state::RestoreSource{
            restore.directory() + "/" + snapshot->state_path(), range->first, range->last, {}});
      }
      sources[at->second].tables.push_back(id);
      sources[at->second].tables.push_back(id + "#timers");
    }
  }
  auto range = state::KeyGroupRangeOf(deployment.subtask(), std::max(1u, deployment.parallelism()),
                                      max_parallelism);
  if (!range.ok()) return range.status();
  return state::RocksStateBackend::Restore(directory, tables, sources, range->first, range->last,
                                          options);
}

Status RestoreSink(const proto::TaskDeployment& deployment, const proto::Operator& sink_op,
                   TaskParts& parts) {
  if (!parts.has_sink || !deployment.has_restore()) return Status::Ok();
  return parts.sink->Restore(deployment.restore().checkpoint_id(),
                             SinkStates(deployment.restore(), sink_op.id(), deployment.subtask(),
                                        std::max(1u, deployment.parallelism())));
}

}  // namespace sluice::runtime
