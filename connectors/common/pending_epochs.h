#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::connectors {

// One epoch of a sink: the JSON lines it got in Write() after barrier `number - 1` and up to
// barrier `number`, each ending in '\n'.
struct Epoch {
  uint64_t number = 0;
  std::string lines;
};

// What one sink subtask had not committed at a checkpoint, read back from its description.
struct PreparedEpochs {
  std::string sink_id;        // "<job id>/<operator id>/<subtask>": whose markers apply
  bool finished = false;      // it had committed its last epoch (Finish) and drops its output
  std::vector<Epoch> epochs;  // ascending numbers
};

// The write-ahead part of an exactly-once sink (Flink's GenericWriteAheadSink): holds the
// records of the open epoch and of the epochs closed by a barrier whose commit has not happened,
// and writes the closed ones to a file at each barrier so that a restored task can commit them.
// The sink commits them itself (each with its marker) and then drops them here.
//
// Prepare(n) writes every uncommitted epoch, not only n: when checkpoint n - 1 never completed,
// checkpoint n must still carry epoch n - 1. A file is written once and never changed.
//
// Owned by one sink and used on its task's thread.
class PendingEpochs {
 public:
  explicit PendingEpochs(std::string sink_id) : sink_id_(std::move(sink_id)) {}

  const std::string& sink_id() const { return sink_id_; }

  // Adds JSON lines (each ending in '\n') to the open epoch; ignored once MarkFinished().
  void Append(std::string_view json_lines);

  // Barrier `checkpoint`: closes the open epoch as epoch `checkpoint` (an empty one is not
  // kept), writes every closed epoch to `<directory>/pending-epochs` (created, fsync'd, its
  // directory too) and returns the description Load() reads, a small JSON object:
  //   {"sink": "<sink id>", "path": "<file>", "epochs": [4, 5]}
  // or {"sink": "<sink id>", "finished": true}; "" when nothing is uncommitted.
  // `checkpoint` must be above every epoch closed or started after so far.
  Result<std::string> Prepare(uint64_t checkpoint, const std::string& directory);
  // The same, its errors prefixed with `label` (the sink operator's, for the user).
  Result<std::string> Prepare(uint64_t checkpoint, const std::string& directory,
                              const std::string& label);

  // Closes the open epoch as `number` without writing anything (Finish commits it at once).
  // An empty epoch is kept too, so that its commit still writes the marker.
  Status Close(uint64_t number);

  // The closed epochs numbered up to `number`, oldest first; Drop them once committed.
  std::vector<const Epoch*> ClosedThrough(uint64_t number) const;
  void DropThrough(uint64_t number);
  // Checkpoint `number` completed: commits the closed epochs up to it, oldest first, with
  // commit(sink_id(), epoch), then drops them. The first failure is returned and nothing is
  // dropped (a retry commits again; the sinks' markers make that a no-op where it happened).
  Status CommitThrough(uint64_t number,
                       const std::function<Status(const std::string&, const Epoch&)>& commit);

  // After a restore from checkpoint `checkpoint`: the next epoch closed is above it.
  void StartAfter(uint64_t checkpoint);
  // This sink had finished before (its marker is past the restored checkpoint): from now on
  // nothing is kept, and Prepare() says so, so that a later restore keeps dropping.
  void MarkFinished();

  bool finished() const { return finished_; }
  // The highest epoch number closed, or the checkpoint started after; 0 at first.
  uint64_t last() const { return last_; }

  // Reads a description written by Prepare() (of any sink subtask) and the epochs it names.
  // Errors name the description or the file and say what is wrong.
  static Result<PreparedEpochs> Load(const std::string& description);

 private:
  std::string sink_id_;
  std::string open_;
  std::deque<Epoch> closed_;
  uint64_t last_ = 0;
  bool finished_ = false;
};

// What a restored exactly-once sink takes over (BatchSink::Restore's `prepared`): the epochs
// the old subtasks prepared (empty descriptions skipped), the sink ids whose markers to read
// (`own` first), and whether one of them had finished. Errors start with `label`.
struct TakenOver {
  std::vector<PreparedEpochs> prepared;
  std::vector<std::string> sink_ids;
  bool finished = false;
};
Result<TakenOver> LoadPrepared(const std::vector<std::string>& descriptions,
                               const std::string& own, const std::string& label);

}  // namespace sluice::connectors
