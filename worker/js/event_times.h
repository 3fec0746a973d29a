#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::js {

// The event times of a JSON-lines batch, one per record line, and the frame that carries them to
// the chain ahead of the lines (ChainRunner::RunText): the frame is the codec's (runtime/codec.js,
// TIMES_MARK) and is written only here (ChainRunner::RunTextWithTimes), so sources never spell
// it. A record without a time (nullopt) gets none in the chain. Appended record by record; owned
// by one caller, one thread.
class EventTimes {
 public:
  void Add(std::optional<int64_t> time_ms);
  void Clear() { json_.clear(); }
  bool empty() const { return json_.empty(); }
  // `lines` (whole JSON lines, one per Add()) led by their event times, ready for RunText.
  std::string Frame(std::string_view lines) const;

 private:
  std::string json_;  // the times so far, as a JSON array's elements
};

}  // namespace sluice::js
