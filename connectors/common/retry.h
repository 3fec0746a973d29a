#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "common/status.h"
#include "connectors/common/config_reader.h"
#include "connectors/common/connector_health.h"

namespace sluice::connectors {

// Waits between two attempts. Implementations: CancellableSleeper; tests use a fake that
// records the delays instead of sleeping.
class RetrySleeper {
 public:
  virtual ~RetrySleeper() = default;
  // The clock the retry budget's time is measured on (a fake one advances with the sleeps).
  virtual std::chrono::steady_clock::time_point Now() { return std::chrono::steady_clock::now(); }
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

// How long a connector keeps retrying one run of failures (from the first failure until an
// attempt gets through) before it gives up and fails its task: whichever limit comes first.
// Config fields "retryAttempts" and "retryTimeoutMs" of every connector (connectors/README.md).
struct RetryBudget {
  static constexpr std::chrono::milliseconds kDefaultTimeout{60000};
  std::optional<uint64_t> attempts;                // retries allowed; none: no limit
  std::chrono::milliseconds timeout = kDefaultTimeout;  // 0: no limit
  // "3 retries or 60000 ms" / "60000 ms" / "no limit", for messages.
  std::string Describe() const;
  bool unlimited() const { return !attempts.has_value() && timeout.count() == 0; }
};

// Reads "retryAttempts" (0 to 1e9) and "retryTimeoutMs" (0: no limit) from a connector's
// config; problems go to the reader.
RetryBudget ReadRetryBudget(ConfigReader& reader);

// Exponential backoff between attempts: initial, initial * 2, ... up to max, within a budget.
struct Backoff {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
  RetryBudget budget;
};

// Counts one run of failures against a budget; a connector with its own retry loop (the Kafka
// source) uses it directly, the Retrier through Run().
class RetryAllowance {
 public:
  explicit RetryAllowance(RetryBudget budget) : budget_(budget) {}
  // Called after a retryable failure at `now`: false once the budget is spent (no more
  // retries), true when one more retry may follow.
  bool Take(std::chrono::steady_clock::time_point now);
  // After a success: the next failure starts a new run.
  void Reset() { failures_ = 0; }
  // Whether a run of failures has lasted the budget's whole time by `now` (no new failure needed).
  bool Spent(std::chrono::steady_clock::time_point now) const {
    return failures_ > 0 && budget_.timeout.count() > 0 && now - first_failure_ >= budget_.timeout;
  }
  // "gave up after 3 retries in 1200 ms (retry budget: ...)".
  std::string GaveUp(std::chrono::steady_clock::time_point now) const;

 private:
  RetryBudget budget_;
  uint64_t failures_ = 0;  // in the current run
  std::chrono::steady_clock::time_point first_failure_;
};

// Runs an attempt (connect and write one batch, say) until it succeeds, fails in a way that
// retrying cannot help (a Status that is not retryable), is cancelled, or its run of failures
// spends the backoff's budget (then a Status, not retryable, that names the endpoint, the
// budget and the last error, and the task fails). While it retries,
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
  RetryAllowance allowance_;
};

}  // namespace sluice::connectors
