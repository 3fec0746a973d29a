#include "worker/runtime/watermarks.h"

#include <algorithm>

#include "worker/js/js_engine.h"

namespace sluice::runtime {

WatermarkTracker::WatermarkTracker(uint32_t channels)
    : channels_(channels, Channel{js::kMinWatermark}), current_(js::kMinWatermark) {}

std::optional<int64_t> WatermarkTracker::OnWatermark(uint32_t channel, int64_t watermark) {
  if (channel >= channels_.size()) return std::nullopt;
  Channel& c = channels_[channel];
  c.watermark = std::max(c.watermark, watermark);
  c.idle = false;
  return Recompute();
}

std::optional<int64_t> WatermarkTracker::OnActive(uint32_t channel) {
  if (channel >= channels_.size() || !channels_[channel].idle) return std::nullopt;
  channels_[channel].idle = false;
  return Recompute();
}

std::optional<int64_t> WatermarkTracker::OnIdle(uint32_t channel) {
  if (channel >= channels_.size()) return std::nullopt;
  channels_[channel].idle = true;
  return Recompute();
}

std::optional<int64_t> WatermarkTracker::OnEnd(uint32_t channel) {
  if (channel >= channels_.size()) return std::nullopt;
  channels_[channel].ended = true;
  channels_[channel].watermark = js::kMaxWatermark;
  return Recompute();
}

bool WatermarkTracker::all_idle() const {
  bool any_open = false;
  for (const Channel& c : channels_) {
    if (c.ended) continue;
    if (!c.idle) return false;
    any_open = true;
  }
  return any_open;
}

std::optional<int64_t> WatermarkTracker::Recompute() {
  int64_t low = js::kMaxWatermark;
  bool any = false;
  for (const Channel& c : channels_) {
    if (c.idle && !c.ended) continue;
    low = std::min(low, c.watermark);
    any = true;
  }
  if (!any || low <= current_) return std::nullopt;
  current_ = low;
  return current_;
}

}  // namespace sluice::runtime
