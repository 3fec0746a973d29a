#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "connectors/common/pending_epochs.h"

namespace sluice::connectors {

// What an exactly-once sink's external system does for ExactlyOnceProtocol: check records,
// commit one epoch atomically with its marker, read markers, fence old writers. Implemented by
// the MySQL and Kafka sinks (each retries and names its endpoint itself); called on the task
// thread, from the protocol only.
class EpochStore {
 public:
  virtual ~EpochStore() = default;
  // Once, before the first marker is read (Kafka: the transactional producer starts, which
  // also fences an earlier incarnation of this subtask).
  virtual Status Start() { return Status::Ok(); }
  // One batch of JSON lines, checked when it is written, so that a bad record fails this task
  // rather than the commit of a checkpoint that already completed (which every restore would
  // fail again).
  virtual Status Check(std::string_view json_lines) = 0;
  // Commits `epoch` of `sink_id` together with the marker `sink_id` -> epoch.number; nothing
  // when the marker already covers it. A commit whose outcome is unknown is tried again.
  virtual Status CommitEpoch(const std::string& sink_id, const Epoch& epoch) = 0;
  // The committed epoch of each of `sink_ids` that has a marker.
  virtual Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) = 0;
  // On restore, before the markers are read: no writer of another sink id in `old_sink_ids`
  // (an old subtask) may commit anything any more.
  virtual Status FenceOld(const std::vector<std::string>& old_sink_ids) {
    (void)old_sink_ids;
    return Status::Ok();
  }
};

// The two-phase protocol of an exactly-once sink, written once for every such sink (Flink's
// TwoPhaseCommitSinkFunction over a write-ahead of epochs, PendingEpochs):
//   Write     checks a batch and appends it to the open epoch;
//   Prepare   barrier n: the uncommitted epochs go to a file in checkpoint n;
//   Commit    checkpoint n completed: each epoch up to n is committed with its marker;
//   Restore   the epochs the old subtasks prepared and their markers do not cover are
//             committed, then epochs go on after the restored checkpoint;
//   Finish    what is buffered is committed as the last epoch, with its marker even when empty.
// A sink whose own marker exists before its first prepare or commit (not restored: the job ran
// before and this sink had finished), or is past the checkpoint it is restored from, drops its
// output from then on. Owned by one sink, on its task's thread; `store` outlives it.
class ExactlyOnceProtocol {
 public:
  // `sink_id` names this subtask in the markers (SinkId); `label` starts errors ("operator
  // 'out' (op4)").
  ExactlyOnceProtocol(std::string sink_id, std::string label, EpochStore& store)
      : epochs_(std::move(sink_id)), label_(std::move(label)), store_(store) {}

  const std::string& sink_id() const { return epochs_.sink_id(); }

  Status Write(std::string_view json_lines);
  Result<std::string> Prepare(uint64_t checkpoint, const std::string& directory);
  Status Commit(uint64_t checkpoint);
  Status Restore(uint64_t checkpoint, const std::vector<std::string>& prepared);
  Status Finish();

 private:
  // Before the first prepare or commit of a task that was not restored.
  Status CheckStarted();

  PendingEpochs epochs_;
  std::string label_;
  EpochStore& store_;
  bool started_ = false;  // restored, or CheckStarted() done
};

}  // namespace sluice::connectors
