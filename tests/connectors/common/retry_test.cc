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

namespace sluice::connectors {
namespace {

using namespace std::chrono_literals;
using testing::FakeSleeper;

TEST(RetrierTest, GivesUpWhenTheAttemptBudgetIsSpentNamingEndpointBudgetAndLastError) {
  runtime::ConnectorHealth health;
  FakeSleeper sleeper;
  Backoff backoff{100ms, 300ms};
  backoff.budget.attempts = 3;
  Retrier retrier("operator 'out' (op2): redis h:1", backoff, &health, &sleeper);
  int attempts = 0;
  Status status = retrier.Run([&] {
    ++attempts;
    return Status::Unavailable("unreachable (Connection refused #" + std::to_string(attempts) + ")");
  });
  EXPECT_EQ(attempts, 4) << "the first attempt and three retries";
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(status.retryable()) << "the task fails instead of retrying again";
  EXPECT_EQ(status.domain(), ErrorDomain::kExternal);
  EXPECT_EQ(status.message(),
            "operator 'out' (op2): redis h:1: gave up after 3 retries in 600 ms (retry budget: "
            "3 retries or 60000 ms; set retryAttempts / retryTimeoutMs); last error: "
            "unreachable (Connection refused #4)");
}

TEST(RetrierTest, GivesUpWhenTheTimeBudgetIsSpent) {
  FakeSleeper sleeper;
  sleeper.attempt_time = 1000ms;  // each failed attempt takes a second (a connect timeout)
  Backoff backoff{100ms, 5000ms};
  backoff.budget.timeout = 10000ms;
  Retrier retrier("op", backoff, nullptr, &sleeper);
  int attempts = 0;
  Status status = retrier.Run([&] {
    ++attempts;
    return Status::Unavailable("down");
  });
  EXPECT_FALSE(status.retryable());
  EXPECT_NE(status.message().find("gave up after"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find("(retry budget: 10000 ms;"), std::string::npos)
      << status.message();
  // 1 s per attempt plus 100, 200, 400, 800, 1600 ms of backoff reach 10 s at the 7th attempt.
  EXPECT_EQ(attempts, 7);
}

TEST(RetrierTest, ABudgetCountsOneRunOfFailuresAndASuccessRefillsIt) {
  FakeSleeper sleeper;
  Backoff backoff{10ms, 10ms};
  backoff.budget.attempts = 2;
  Retrier retrier("op", backoff, nullptr, &sleeper);
  for (int run = 0; run < 3; ++run) {
    int attempts = 0;
    Status status =
        retrier.Run([&] { return ++attempts <= 2 ? Status::Unavailable("down") : Status::Ok(); });
    EXPECT_TRUE(status.ok()) << "run " << run << ": " << status.message();
  }
}

TEST(RetrierTest, NoLimitRetriesUntilCancelled) {
  FakeSleeper sleeper;
  Backoff backoff{10ms, 10ms};
  backoff.budget.timeout = 0ms;
  Retrier retrier("op", backoff, nullptr, &sleeper);
  sleeper.on_sleep = [&] {
    if (sleeper.delays.size() == 1000) sleeper.cancelled = true;
  };
  Status status = retrier.Run([] { return Status::Unavailable("down"); });
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_EQ(sleeper.delays.size(), 1000u);
}

TEST(RetryBudgetTest, ReadsTheConfigFieldsAndRefusesBadValues) {
  ConfigReader good(R"({"retryAttempts": 5, "retryTimeoutMs": 0})", "sink.redis");
  RetryBudget budget = ReadRetryBudget(good);
  EXPECT_TRUE(good.ok());
  EXPECT_EQ(budget.attempts, 5u);
  EXPECT_EQ(budget.timeout, 0ms);
  EXPECT_EQ(budget.Describe(), "5 retries");

  ConfigReader absent("{}", "sink.redis");
  budget = ReadRetryBudget(absent);
  EXPECT_FALSE(budget.attempts.has_value());
  EXPECT_EQ(budget.timeout, RetryBudget::kDefaultTimeout);

  ConfigReader bad(R"({"retryAttempts": -1, "retryTimeoutMs": "1s"})", "sink.redis");
  ReadRetryBudget(bad);
  ASSERT_EQ(bad.problems().size(), 2u);
  EXPECT_NE(bad.problems()[0].find("\"retryAttempts\" must be an integer from 0"),
            std::string::npos);
  EXPECT_NE(bad.problems()[1].find("\"retryTimeoutMs\" must be an integer from 0"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::connectors
