#include "worker/runtime/time_keeper.h"

namespace sluice::runtime {
namespace {

int64_t SystemWallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

TimeKeeper::TimeKeeper(std::chrono::milliseconds tick, std::function<Clock::time_point()> now,
                       std::function<int64_t()> wall_ms)
    : tick_(tick),
      now_(now ? std::move(now) : std::function<Clock::time_point()>(Clock::now)),
      wall_ms_(wall_ms ? std::move(wall_ms) : std::function<int64_t()>(SystemWallMs)),
      next_tick_(now_() + tick_) {}

void TimeKeeper::Observe(const js::BatchResult& result) {
  if (result.idle.has_value()) idle_ = *result.idle;
}

Result<std::optional<js::BatchResult>> TimeKeeper::OnInput(const InputBatch& input,
                                                           js::ChainRunner& chain,
                                                           js::BatchResult& first) {
  std::optional<js::BatchResult> fired;
  if (input.watermark.has_value() && *input.watermark > watermark_) {
    auto advanced = chain.AdvanceTime(*input.watermark, wall_ms_());
    if (!advanced.ok()) return advanced.status();
    watermark_ = *input.watermark;
    fired = std::move(advanced).value();
  }
  // The idleness goes out with the batch's first result: downstream, a watermark after it
  // would make the channel active again.
  js::BatchResult& carrier = input.has_records() || !fired.has_value() ? first : *fired;
  if (input.idle.has_value() && *input.idle != idle_ && !carrier.idle.has_value()) {
    carrier.idle = *input.idle;
  }
  Observe(first);
  if (fired.has_value()) Observe(*fired);
  return fired;
}

Result<std::optional<js::BatchResult>> TimeKeeper::Tick(js::ChainRunner& chain) {
  if (now_() < next_tick_) return std::optional<js::BatchResult>();
  auto ticked = chain.AdvanceTime(std::nullopt, wall_ms_());
  if (!ticked.ok()) return ticked.status();
  next_tick_ = now_() + tick_;
  Observe(*ticked);
  return std::optional<js::BatchResult>(std::move(ticked).value());
}

Result<js::BatchResult> TimeKeeper::End(js::ChainRunner& chain) {
  watermark_ = js::kMaxWatermark;
  return chain.AdvanceTime(js::kMaxWatermark, wall_ms_());
}

}  // namespace sluice::runtime
