#include "worker/js/watchdog.h"

namespace sluice::js {

Watchdog &Watchdog::Get() {
  static Watchdog *watchdog = new Watchdog();  // never destroyed: see the class comment
  return *watchdog;
}

Watchdog::Watchdog() : thread_([this] { Loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

Watchdog::Token Watchdog::Arm(Clock::time_point deadline, Fire fire, void *arg) {
  bool wake = false;
  Token token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = Token{deadline, next_id_++};
    entries_.emplace(std::make_pair(deadline, token.id), Entry{fire, arg});
    // The thread re-reads the earliest deadline whenever it wakes, so it needs
    // a nudge only when it would otherwise sleep past this one.
    if (deadline < wake_at_) {
      wake_at_ = deadline;
      wake = true;
    }
  }
  if (wake) cv_.notify_one();
  return token;
}

void Watchdog::Disarm(const Token &token) {
  std::lock_guard<std::mutex> lock(mu_);
  entries_.erase(std::make_pair(token.deadline, token.id));
}

void Watchdog::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    const Clock::time_point now = Clock::now();
    while (!entries_.empty() && entries_.begin()->first.first <= now) {
      auto it = entries_.begin();
      it->second.fire(it->second.arg);
      entries_.erase(it);
    }
    if (entries_.empty()) {
      wake_at_ = Clock::time_point::max();
      cv_.wait(lock);
    } else {
      wake_at_ = entries_.begin()->first.first;
      cv_.wait_until(lock, wake_at_);
    }
  }
}

}  // namespace sluice::js
