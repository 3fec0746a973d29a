#include "worker/js/watchdog.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace sluice::js {
namespace {

struct Flag {
  std::mutex mu;
  std::condition_variable cv;
  bool fired = false;

  static void Fire(void *arg) {
    auto *flag = static_cast<Flag *>(arg);
    std::lock_guard<std::mutex> lock(flag->mu);
    flag->fired = true;
    flag->cv.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [this] { return fired; });
  }
  bool Fired() {
    std::lock_guard<std::mutex> lock(mu);
    return fired;
  }
};

TEST(WatchdogTest, FiresArmedDeadlinesAndSkipsDisarmedOnes) {
  Watchdog watchdog;
  const auto now = Watchdog::Clock::now();
  Flag later;
  Flag disarmed;
  Flag earliest;
  // Far apart, so that a thread woken late on a loaded machine still checks "later" in time.
  watchdog.Arm(now + std::chrono::milliseconds(800), &Flag::Fire, &later);
  Watchdog::Token token = watchdog.Arm(now + std::chrono::milliseconds(400), &Flag::Fire, &disarmed);
  // An earlier deadline than the one the thread sleeps towards must wake it.
  watchdog.Arm(now + std::chrono::milliseconds(5), &Flag::Fire, &earliest);
  watchdog.Disarm(token);
  earliest.Wait();
  EXPECT_FALSE(later.Fired());
  later.Wait();
  EXPECT_GE(Watchdog::Clock::now(), now + std::chrono::milliseconds(800));
  EXPECT_FALSE(disarmed.Fired());
}

TEST(WatchdogTest, DeadlineInThePastFiresAtOnce) {
  Watchdog watchdog;
  Flag flag;
  watchdog.Arm(Watchdog::Clock::now() - std::chrono::seconds(1), &Flag::Fire, &flag);
  flag.Wait();
  EXPECT_TRUE(flag.Fired());
}

}  // namespace
}  // namespace sluice::js
