#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include "connectors/common/retry.h"

namespace sluice::connectors::testing {

// Records the delays a Retrier asks for instead of sleeping; `on_sleep` runs at each one.
class FakeSleeper : public RetrySleeper {
 public:
  bool SleepFor(std::chrono::milliseconds delay) override {
    delays.push_back(delay);
    if (on_sleep) on_sleep();
    return !cancelled;
  }
  void Cancel() override { cancelled = true; }

  std::vector<std::chrono::milliseconds> delays;
  std::function<void()> on_sleep;
  bool cancelled = false;
};

}  // namespace sluice::connectors::testing
