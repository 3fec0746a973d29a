#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

namespace sluice::runtime {

// What a task's connectors (Kafka, Redis, MySQL) say about their endpoints, for job status
// (TaskStatus.detail, shown by `sluice status`) and metrics. A connector that cannot reach its
// endpoint calls Retrying() before each backoff sleep and Healthy() once it gets through again.
// Owned by the task; thread-safe. A listener set before the connectors start hears every change
// between healthy and retrying (called outside the lock, on the connector's thread), so the
// worker can report it at once instead of on its next heartbeat.
class ConnectorHealth {
 public:
  void SetListener(std::function<void()> on_change) { on_change_ = std::move(on_change); }

  // `problem` names the operator and the endpoint, e.g.
  // "operator 'out' (op4): redis 127.0.0.1:6390 unreachable (Connection refused); retrying in 400 ms".
  void Retrying(std::string problem) {
    bool changed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      changed = problem_.empty();
      problem_ = std::move(problem);
      retries_.fetch_add(1, std::memory_order_relaxed);
    }
    if (changed && on_change_) on_change_();
  }
  void Healthy() {
    bool changed;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      changed = !problem_.empty();
      problem_.clear();
    }
    if (changed && on_change_) on_change_();
  }
  // The current problem, "" when healthy.
  std::string problem() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return problem_;
  }
  // Retries so far (a counter for metrics).
  uint64_t retries() const { return retries_.load(std::memory_order_relaxed); }

 private:
  std::function<void()> on_change_;  // set once, before any connector runs
  mutable std::mutex mutex_;
  std::string problem_;
  std::atomic<uint64_t> retries_{0};
};

}  // namespace sluice::runtime
