#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace sluice::runtime {

// The watermark of a task with several input channels: the minimum over its channels, where a
// channel that ended counts as +infinity and an idle channel does not count at all (so an input
// with no data does not hold the others back). Never goes back: a channel that becomes active
// again below the current watermark only counts once it catches up. Pure; used on the task
// thread.
class WatermarkTracker {
 public:
  explicit WatermarkTracker(uint32_t channels);

  // Each returns the new combined watermark when it advanced.
  std::optional<int64_t> OnWatermark(uint32_t channel, int64_t watermark);
  // Data (or a watermark) arrived: the channel is active again.
  std::optional<int64_t> OnActive(uint32_t channel);
  std::optional<int64_t> OnIdle(uint32_t channel);
  std::optional<int64_t> OnEnd(uint32_t channel);

  int64_t current() const { return current_; }
  // Channel `channel`'s own watermark (kMinWatermark before its first), and whether it counts
  // towards the minimum now (neither idle nor ended).
  int64_t watermark(uint32_t channel) const { return channels_[channel].watermark; }
  bool counts(uint32_t channel) const {
    return !channels_[channel].idle && !channels_[channel].ended;
  }
  // Every channel that has not ended is idle (and at least one has not ended).
  bool all_idle() const;

 private:
  struct Channel {
    int64_t watermark;
    bool idle = false;
    bool ended = false;
  };
  std::optional<int64_t> Recompute();

  std::vector<Channel> channels_;
  int64_t current_;
};

}  // namespace sluice::runtime
