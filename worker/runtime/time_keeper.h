#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>

#include "common/status.h"
#include "worker/io/input_batch.h"
#include "worker/js/js_engine.h"

namespace sluice::runtime {

// A task's one clock, and the only caller of ChainRunner::AdvanceTime: it moves the chain's
// event time to the source's watermark when that passed the last one, says when the source's
// idleness changed, moves processing time on every `tick`, and ends time (+infinity) at the end
// of the input. A source combines its own inputs' watermarks (Kafka partitions, exchange
// channels) and hands the result in each InputBatch; the keeper combines that with the ticks.
// Created and used on the task thread by the task loop (or a test); owns no thread.
class TimeKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  // `now`: when the next tick is due; `wall_ms`: the processing time handed to the chain (epoch
  // ms). Both default to the system's clocks; tests pass their own.
  explicit TimeKeeper(std::chrono::milliseconds tick, std::function<Clock::time_point()> now = {},
                      std::function<int64_t()> wall_ms = {});

  // After `input`'s records went through the chain (their result in `first`, or an empty result
  // when it had none): moves the chain's time to the batch's watermark when it passed the last
  // one and returns what that fired. A change of the source's idleness goes on `first` when the
  // chain said nothing of it; `first` is what the sink gets first, the fired result next.
  Result<std::optional<js::BatchResult>> OnInput(const InputBatch& input, js::ChainRunner& chain,
                                                 js::BatchResult& first);
  // Processing time, when a tick is due: what the chain's timers emitted; nullopt otherwise.
  Result<std::optional<js::BatchResult>> Tick(js::ChainRunner& chain);
  // The end of the input: the watermark goes to +infinity, so every window and timer fires.
  Result<js::BatchResult> End(js::ChainRunner& chain);

  // The last watermark handed to the chain (kMinWatermark before any).
  int64_t watermark() const { return watermark_; }

 private:
  // Follows the output idleness a result reports (the chain's own, or the one set here).
  void Observe(const js::BatchResult& result);

  std::chrono::milliseconds tick_;
  std::function<Clock::time_point()> now_;
  std::function<int64_t()> wall_ms_;
  Clock::time_point next_tick_;
  int64_t watermark_ = js::kMinWatermark;
  bool idle_ = false;  // the output idleness last reported downstream
};

}  // namespace sluice::runtime
