#include "connectors/common/retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace sluice::connectors {

bool CancellableSleeper::SleepFor(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, delay, [&] { return cancelled_.load(); });
  return !cancelled_.load();
}

void CancellableSleeper::Cancel() {
  std::lock_guard<std::mutex> lock(mutex_);
  cancelled_ = true;
  cv_.notify_all();
}

std::string RetryBudget::Describe() const {
  const std::string time = std::to_string(timeout.count()) + " ms";
  if (attempts.has_value()) {
    const std::string tries = std::to_string(*attempts) + (*attempts == 1 ? " retry" : " retries");
    return timeout.count() == 0 ? tries : tries + " or " + time;
  }
  return timeout.count() == 0 ? "no limit" : time;
}

RetryBudget ReadRetryBudget(ConfigReader& reader) {
  RetryBudget budget;
  if (auto attempts = reader.Integer("retryAttempts", false, 0, 1000000000)) {
    budget.attempts = static_cast<uint64_t>(*attempts);
  }
  // Up to a week; 0 is no limit.
  if (auto timeout = reader.Integer("retryTimeoutMs", false, 0, 7LL * 24 * 3600 * 1000)) {
    budget.timeout = std::chrono::milliseconds(*timeout);
  }
  return budget;
}

bool RetryAllowance::Take(std::chrono::steady_clock::time_point now) {
  if (failures_++ == 0) first_failure_ = now;
  // The first failure of a run is not a retry yet: failures_ - 1 retries were made.
  if (budget_.attempts.has_value() && failures_ > *budget_.attempts) return false;
  if (budget_.timeout.count() > 0 && now - first_failure_ >= budget_.timeout) return false;
  return true;
}

std::string RetryAllowance::GaveUp(std::chrono::steady_clock::time_point now) const {
  const uint64_t retries = failures_ == 0 ? 0 : failures_ - 1;
  const auto spent =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - first_failure_).count();
  return "gave up after " + std::to_string(retries) + (retries == 1 ? " retry" : " retries") +
         " in " + std::to_string(spent) + " ms (retry budget: " + budget_.Describe() +
         "; set retryAttempts / retryTimeoutMs)";
}

Retrier::Retrier(std::string endpoint, Backoff backoff, runtime::ConnectorHealth* health,
                 RetrySleeper* sleeper)
    : endpoint_(std::move(endpoint)),
      backoff_(backoff),
      health_(health),
      sleeper_(sleeper),
      allowance_(backoff.budget) {}

Status Retrier::Run(const std::function<Status()>& attempt) {
  std::chrono::milliseconds delay = backoff_.initial;
  while (true) {
    Status status = attempt();
    if (status.ok()) {
      allowance_.Reset();
      if (failing_) {
        failing_ = false;
        if (health_ != nullptr) health_->Healthy();
        spdlog::info("{}: reachable again", endpoint_);
      }
      return status;
    }
    if (!status.retryable()) return status;
    const auto now = sleeper_->Now();
    if (!allowance_.Take(now)) {
      std::string reason = endpoint_ + ": " + allowance_.GaveUp(now) + "; last error: " +
                           status.message();
      spdlog::warn("{}", reason);
      allowance_.Reset();
      return Status(status.code(), ErrorDomain::kExternal, std::move(reason), /*retryable=*/false);
    }
    std::string problem = endpoint_ + ": " + status.message() + "; retrying in " +
                          std::to_string(delay.count()) + " ms";
    // The task's status says so before the log does (the worker reports it at once).
    if (health_ != nullptr) health_->Retrying(problem);
    if (!failing_) spdlog::warn("{}", problem);
    spdlog::debug("{}", problem);
    failing_ = true;
    ++retries_;
    if (!sleeper_->SleepFor(delay)) {
      return Status::Cancelled(endpoint_ + ": cancelled while retrying (" + status.message() + ")");
    }
    delay = std::min(backoff_.max, delay * 2);
  }
}

}  // namespace sluice::connectors
