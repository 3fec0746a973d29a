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

Retrier::Retrier(std::string endpoint, Backoff backoff, runtime::ConnectorHealth* health,
                 RetrySleeper* sleeper)
    : endpoint_(std::move(endpoint)), backoff_(backoff), health_(health), sleeper_(sleeper) {}

Status Retrier::Run(const std::function<Status()>& attempt) {
  std::chrono::milliseconds delay = backoff_.initial;
  while (true) {
    Status status = attempt();
    if (status.ok()) {
      if (failing_) {
        failing_ = false;
        if (health_ != nullptr) health_->Healthy();
        spdlog::info("{}: reachable again", endpoint_);
      }
      return status;
    }
    if (!status.retryable()) return status;
    std::string problem = endpoint_ + ": " + status.message() + "; retrying in " +
                          std::to_string(delay.count()) + " ms";
    if (!failing_) spdlog::warn("{}", problem);
    spdlog::debug("{}", problem);
    failing_ = true;
    ++retries_;
    if (health_ != nullptr) health_->Retrying(problem);
    if (!sleeper_->SleepFor(delay)) {
      return Status::Cancelled(endpoint_ + ": cancelled while retrying (" + status.message() + ")");
    }
    delay = std::min(backoff_.max, delay * 2);
  }
}

}  // namespace sluice::connectors
