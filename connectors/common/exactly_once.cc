#include "connectors/common/exactly_once.h"

#include <limits>

namespace sluice::connectors {

Status ExactlyOnceProtocol::Write(std::string_view json_lines) {
  SLUICE_RETURN_IF_ERROR(store_.Check(json_lines));
  epochs_.Append(json_lines);
  return Status::Ok();
}

Status ExactlyOnceProtocol::CheckStarted() {
  if (started_) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(store_.Start());
  auto markers = store_.ReadMarkers({epochs_.sink_id()});
  if (!markers.ok()) return markers.status();
  started_ = true;
  const auto own = markers->find(epochs_.sink_id());
  if (own != markers->end() && own->second > 0) epochs_.MarkFinished();
  return Status::Ok();
}

Result<std::string> ExactlyOnceProtocol::Prepare(uint64_t checkpoint,
                                                 const std::string& directory) {
  SLUICE_RETURN_IF_ERROR(CheckStarted());
  return epochs_.Prepare(checkpoint, directory, label_);
}

Status ExactlyOnceProtocol::Commit(uint64_t checkpoint) {
  SLUICE_RETURN_IF_ERROR(CheckStarted());
  return epochs_.CommitThrough(checkpoint, [this](const std::string& sink_id, const Epoch& epoch) {
    return store_.CommitEpoch(sink_id, epoch);
  });
}

Status ExactlyOnceProtocol::Restore(uint64_t checkpoint,
                                    const std::vector<std::string>& prepared) {
  auto taken = LoadPrepared(prepared, epochs_.sink_id(), label_);
  if (!taken.ok()) return taken.status();
  SLUICE_RETURN_IF_ERROR(store_.Start());
  std::vector<std::string> old;
  for (const PreparedEpochs& other : taken->prepared) {
    if (other.sink_id != epochs_.sink_id()) old.push_back(other.sink_id);
  }
  SLUICE_RETURN_IF_ERROR(store_.FenceOld(old));
  auto markers = store_.ReadMarkers(taken->sink_ids);
  if (!markers.ok()) return markers.status();
  for (const PreparedEpochs& other : taken->prepared) {
    const auto marker = markers->find(other.sink_id);
    for (const Epoch& epoch : other.epochs) {
      if (marker != markers->end() && epoch.number <= marker->second) continue;
      SLUICE_RETURN_IF_ERROR(store_.CommitEpoch(other.sink_id, epoch));
    }
  }
  epochs_.StartAfter(checkpoint);
  started_ = true;
  const auto own = markers->find(epochs_.sink_id());
  if (taken->finished || (own != markers->end() && own->second > checkpoint)) {
    epochs_.MarkFinished();
  }
  return Status::Ok();
}

Status ExactlyOnceProtocol::Finish() {
  SLUICE_RETURN_IF_ERROR(CheckStarted());
  if (epochs_.finished()) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(epochs_.Close(epochs_.last() + 1));
  return Commit(std::numeric_limits<uint64_t>::max());
}

}  // namespace sluice::connectors
