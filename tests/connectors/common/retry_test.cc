#include "connectors/common/retry.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/connectors/fake_sleeper.h"

namespace sluice::connectors {
namespace {

using namespace std::chrono_literals;
using testing::FakeSleeper;

TEST(RetrierTest, RetriesTransientFailuresWithGrowingCappedDelays) {
  runtime::ConnectorHealth health;
  FakeSleeper sleeper;
  Retrier retrier("operator 'out' (op2): redis h:1", Backoff{100ms, 300ms}, &health, &sleeper);
  int attempts = 0;
  std::vector<std::string> problems_seen;
  sleeper.on_sleep = [&] { problems_seen.push_back(health.problem()); };
  Status status = retrier.Run([&] {
    return ++attempts < 5 ? Status::Unavailable("unreachable (Connection refused)") : Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(attempts, 5);
  EXPECT_EQ(sleeper.delays, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 300ms, 300ms}));
  EXPECT_EQ(
      problems_seen.front(),
      "operator 'out' (op2): redis h:1: unreachable (Connection refused); retrying in 100 ms");
  EXPECT_EQ(health.problem(), "") << "healthy again once an attempt got through";
  EXPECT_EQ(health.retries(), 4u);
  EXPECT_EQ(retrier.retries(), 4u);
}

TEST(RetrierTest, ReturnsAPermanentFailureAtOnce) {
  runtime::ConnectorHealth health;
  FakeSleeper sleeper;
  Retrier retrier("op", Backoff{}, &health, &sleeper);
  int attempts = 0;
  Status status = retrier.Run([&] {
    ++attempts;
    return Status::External("authentication failed: WRONGPASS");
  });
  EXPECT_EQ(status.message(), "authentication failed: WRONGPASS");
  EXPECT_EQ(attempts, 1);
  EXPECT_TRUE(sleeper.delays.empty());
  EXPECT_EQ(health.retries(), 0u);
}

TEST(RetrierTest, StartsAgainFromTheInitialDelayAfterASuccess) {
  FakeSleeper sleeper;
  Retrier retrier("op", Backoff{10ms, 1000ms}, nullptr, &sleeper);
  for (int run = 0; run < 2; ++run) {
    int attempts = 0;
    ASSERT_TRUE(
        retrier.Run([&] { return ++attempts < 3 ? Status::Unavailable("down") : Status::Ok(); })
            .ok());
  }
  EXPECT_EQ(sleeper.delays, (std::vector<std::chrono::milliseconds>{10ms, 20ms, 10ms, 20ms}));
}

TEST(RetrierTest, GivesUpWhenCancelledWhileWaiting) {
  runtime::ConnectorHealth health;
  CancellableSleeper sleeper;
  Retrier retrier("op", Backoff{10000ms, 10000ms}, &health, &sleeper);
  std::thread canceller([&] {
    while (health.retries() == 0) std::this_thread::sleep_for(1ms);
    sleeper.Cancel();
  });
  const auto start = std::chrono::steady_clock::now();
  Status status = retrier.Run([] { return Status::Unavailable("down"); });
  canceller.join();
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s) << "the 10 s wait was cut short";
  // Later sleeps end at once too.
  EXPECT_FALSE(sleeper.SleepFor(10000ms));
}

}  // namespace
}  // namespace sluice::connectors
