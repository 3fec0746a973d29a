#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string>

#include "worker/exchange/exchange.h"

namespace sluice::exchange::testing {

// How long a test waits for something that should happen soon, and how long it watches
// something that should not happen (a blocked call staying blocked).
inline constexpr std::chrono::seconds kSoon{10};
inline constexpr std::chrono::milliseconds kStaysBlocked{300};

// The next batch, skipping channel ends; blocks until one arrives. nullopt when every channel
// ended and everything was taken, or after Close().
inline std::optional<Batch> PopBatch(Inbox& inbox) {
  while (true) {
    InboxItem item = inbox.Next(std::chrono::steady_clock::time_point::max());
    if (item.kind == InboxItem::Kind::kBatch) return std::move(item.batch);
    if (item.kind == InboxItem::Kind::kDone) return std::nullopt;
  }
}

inline Batch MakeBatch(const std::string& data, uint64_t records = 1) {
  Batch batch;
  batch.data = data;
  batch.records = records;
  return batch;
}

// A counter that tests can wait on: a thread bumps it after each step, the test waits until it
// reaches a value or checks that it stays put.
class Progress {
 public:
  void Bump() {
    {
      std::lock_guard lock(mutex_);
      ++count_;
    }
    changed_.notify_all();
  }
  // True when the count reached `n` within `timeout`.
  bool WaitFor(int n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

// True when `future` is still not ready after `period`: the call behind it is blocked.
template <typename T>
bool StaysBlocked(std::future<T>& future, std::chrono::milliseconds period = kStaysBlocked) {
  return future.wait_for(period) == std::future_status::timeout;
}

}  // namespace sluice::exchange::testing
