#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "connectors/common/retry.h"

namespace sluice::connectors::testing {

// Records the delays a Retrier asks for instead of sleeping; `on_sleep` runs at each one. Its
// clock (for retry budgets) starts at 0 and advances by each delay and by `attempt_time` per
// Now() call.
class FakeSleeper : public RetrySleeper {
 public:
  std::chrono::steady_clock::time_point Now() override {
    now += attempt_time;
    return now;
  }
  bool SleepFor(std::chrono::milliseconds delay) override {
    delays.push_back(delay);
    now += delay;
    if (on_sleep) on_sleep();
    return !cancelled;
  }
  void Cancel() override { cancelled = true; }

  std::vector<std::chrono::milliseconds> delays;
  std::function<void()> on_sleep;
  bool cancelled = false;
  std::chrono::steady_clock::time_point now{};
  std::chrono::milliseconds attempt_time{0};  // what each failed attempt takes
};

}  // namespace sluice::connectors::testing
