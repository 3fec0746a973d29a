#include "worker/runtime/checkpointing.h"

namespace sluice::runtime {

std::string TaskCheckpointDirectory(const std::string& job_directory, uint64_t checkpoint,
                                    const TaskId& task) {
  return CheckpointDirectory(job_directory, checkpoint) + "/" + TaskFileName(task);
}

std::vector<std::string> KeyedOperatorsOf(const proto::TaskSnapshot& snapshot) {
  if (snapshot.keyed_operator_ids_size() > 0) {
    return {snapshot.keyed_operator_ids().begin(), snapshot.keyed_operator_ids().end()};
  }
  if (snapshot.keyed_operator_id().empty()) return {};
  return {snapshot.keyed_operator_id()};
}

std::vector<const proto::TaskSnapshot*> KeyedSnapshots(const proto::RestoreSpec& restore,
                                                       const std::string& operator_id) {
  std::vector<const proto::TaskSnapshot*> out;
  for (const auto& snapshot : restore.snapshots()) {
    if (snapshot.state_path().empty()) continue;
    for (const std::string& keyed : KeyedOperatorsOf(snapshot)) {
      if (keyed == operator_id) {
        out.push_back(&snapshot);
        break;
      }
    }
  }
  return out;
}

std::vector<std::string> SourcePositions(const proto::RestoreSpec& restore,
                                         const std::string& operator_id) {
  std::vector<std::string> out;
  for (const auto& snapshot : restore.snapshots()) {
    if (snapshot.operator_ids_size() > 0 && snapshot.operator_ids(0) == operator_id &&
        !snapshot.source_position().empty()) {
      out.push_back(snapshot.source_position());
    }
  }
  return out;
}

std::vector<std::string> SinkStates(const proto::RestoreSpec& restore,
                                    const std::string& operator_id, uint32_t subtask,
                                    uint32_t parallelism) {
  std::vector<std::string> out;
  for (const auto& snapshot : restore.snapshots()) {
    const int n = snapshot.operator_ids_size();
    if (n == 0 || snapshot.operator_ids(n - 1) != operator_id) continue;
    if (snapshot.subtask() % std::max(1u, parallelism) != subtask) continue;
    if (!snapshot.sink_state().empty()) out.push_back(snapshot.sink_state());
  }
  return out;
}

}  // namespace sluice::runtime
