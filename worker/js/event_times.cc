#include "worker/js/event_times.h"

#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

// codec.js's TIMES_MARK: a JSON-lines batch whose first byte is this starts with a line holding
// the records' event times as a JSON array (null: none).
constexpr char kTimesMark = '\x02';

}  // namespace

void EventTimes::Add(std::optional<int64_t> time_ms) {
  if (!json_.empty()) json_.push_back(',');
  json_ += time_ms.has_value() ? std::to_string(*time_ms) : "null";
}

std::string EventTimes::Frame(std::string_view lines) const {
  std::string framed;
  framed.reserve(json_.size() + lines.size() + 4);
  framed.push_back(kTimesMark);
  framed.push_back('[');
  framed += json_;
  framed += "]\n";
  framed += lines;
  return framed;
}

std::string FrameEventTimes(std::string_view lines,
                            const std::vector<std::optional<int64_t>>& times) {
  EventTimes framed;
  for (const std::optional<int64_t>& time : times) framed.Add(time);
  return framed.Frame(lines);
}

}  // namespace sluice::js
