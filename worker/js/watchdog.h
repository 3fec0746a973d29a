#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

namespace sluice::js {

// Calls a function when a deadline passes unless the deadline is disarmed
// first. One per process (Watchdog::Get()), with one thread that sleeps on a
// condition variable until the earliest deadline; it is woken only when a new
// deadline is earlier than the one it sleeps towards, so arming and disarming a
// deadline per batch costs two uncontended mutex locks.
//
// Threading: Arm and Disarm from any thread. `fire` runs on the watchdog thread
// while the watchdog's lock is held, so once Disarm returns the function is not
// running and will not run: whoever armed it may then destroy `arg`. `fire`
// must be short and must not call back into the watchdog.
class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;
  using Fire = void (*)(void *arg);
  struct Token {
    Clock::time_point deadline;
    uint64_t id = 0;
  };

  // The process's watchdog; its thread starts on first use and is never
  // stopped.
  static Watchdog &Get();

  // A watchdog with its own thread; for tests. Destroying it stops the thread.
  Watchdog();
  ~Watchdog();
  Watchdog(const Watchdog &) = delete;
  Watchdog &operator=(const Watchdog &) = delete;

  // Calls fire(arg) at `deadline`, unless Disarm(token) comes first.
  Token Arm(Clock::time_point deadline, Fire fire, void *arg);
  void Disarm(const Token &token);

 private:
  void Loop();

  struct Entry {
    Fire fire;
    void *arg;
  };

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::pair<Clock::time_point, uint64_t>, Entry> entries_;  // guarded by mu_
  Clock::time_point wake_at_ = Clock::time_point::max();             // guarded by mu_
  uint64_t next_id_ = 1;                                             // guarded by mu_
  bool stop_ = false;                                                // guarded by mu_
  std::thread thread_;
};

}  // namespace sluice::js
