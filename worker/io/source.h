#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/common/connector_health.h"
#include "worker/js/js_engine.h"

// What a source implements (the built-in ones in worker/runtime, Kafka in connectors/kafka),
// and what it gets from its task.
namespace sluice::runtime {

class FileReach;  // worker/runtime/file_reach.h: the folders file sources and sinks may reach

// Wakes a sleeping source when its task is cancelled. Shared by the task and its source.
class CancelSignal {
 public:
  void Cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    cv_.notify_all();
  }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Sleeps until `deadline` or cancellation; returns false when cancelled.
  bool SleepUntil(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_until(lock, deadline, [&] { return cancelled_.load(); });
    return !cancelled_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
};

// Feeds a task's chain: each Next() pulls one batch from the source and runs it through the
// chain in one call. Created and used on the task thread; owned by the task.
class SourceDriver {
 public:
  virtual ~SourceDriver() = default;
  // The chain's output for one batch, or nullopt when a bounded source is exhausted.
  virtual Result<std::optional<js::BatchResult>> Next(js::ChainRunner& chain) = 0;
  // Wakes a Next() that waits for input; any thread. Pacing sleeps end through CancelSignal.
  virtual void Cancel() {}
  // Checkpoints: where the source stands now, between two Next() calls, as JSON that a
  // restored source reads back (SourceContext::restore_positions); "" when it cannot rewind.
  virtual std::string Position() const { return ""; }
};

struct SourceContext {
  std::string operator_label;  // "operator 'name' (id)", for errors
  uint32_t subtask = 0;
  uint32_t parallelism = 1;
  CancelSignal* cancel = nullptr;
  int32_t batch_size = 4096;
  ConnectorHealth* health = nullptr;  // for connectors: endpoint problems, for status
  // source.file: the folders it may read below (file_reach.h) and its longest line; the
  // longest message source.kafka takes (key and value).
  const FileReach* file_reach = nullptr;
  uint64_t max_line_bytes = uint64_t{16} << 20;
  // Restoring from a checkpoint: the Position() of every subtask of this source operator when
  // the checkpoint was taken (any parallelism); empty: start from the configured beginning.
  std::vector<std::string> restore_positions;
};

}  // namespace sluice::runtime
