#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include "common/status.h"
#include "connectors/common/connector_health.h"

namespace sluice::connectors {

// Waits between two attempts. Implementations: CancellableSleeper; tests use a fake that
// records the delays instead of sleeping.
class RetrySleeper {
 public:
  virtual ~RetrySleeper() = default;
  // Sleeps for `delay`; false when the wait was cancelled (then the caller gives up).
  virtual bool SleepFor(std::chrono::milliseconds delay) = 0;
  // Ends the current and every later sleep at once; any thread.
  virtual void Cancel() = 0;
};

// Sleeps on a condition variable; Cancel() (any thread) ends the current and every later
// sleep at once. Owned by the connector whose task may cancel it.
class CancellableSleeper : public RetrySleeper {
 public:
  bool SleepFor(std::chrono::milliseconds delay) override;
  void Cancel() override;
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::atomic<bool> cancelled_{false};
};

// Exponential backoff between attempts: initial, initial * 2, ... up to max.
struct Backoff {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
};

// Runs an attempt (connect and write one batch, say) until it succeeds, fails in a way that
// retrying cannot help (a Status that is not retryable), or is cancelled. While it retries,
// the task's ConnectorHealth says what is wrong ("<endpoint>: <problem>; retrying in N ms"),
// and once an attempt gets through again it reports the connector healthy. Logs the first
// failure of a run of failures and the recovery. Created by a connector and used on its
// task's thread.
class Retrier {
 public:
  // `endpoint` names the operator and the endpoint, e.g.
  // "operator 'out' (op4): redis 127.0.0.1:6379"; `health` may be null.
  Retrier(std::string endpoint, Backoff backoff, runtime::ConnectorHealth* health,
          RetrySleeper* sleeper);

  // The attempt's own Status when it succeeds or cannot be retried; a kCancelled Status when
  // the sleeper was cancelled between two attempts.
  Status Run(const std::function<Status()>& attempt);

  // Attempts that failed and were retried so far.
  uint64_t retries() const { return retries_; }

 private:
  std::string endpoint_;
  Backoff backoff_;
  runtime::ConnectorHealth* health_;
  RetrySleeper* sleeper_;
  bool failing_ = false;  // the last attempt failed and was retried
  uint64_t retries_ = 0;
};

}  // namespace sluice::connectors
