#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::Stage;

// A runner that keeps working on its own thread until told to stop; proves that
// one isolate's failure leaves the others alone.
class BystanderThread {
 public:
  BystanderThread() {
    thread_ = std::thread([this] {
      auto runner = V8Engine().Create(
          Chain({Stage("op1", "g", "source.generator"), Stage("op2", "sq", "map", "(i) => i * i")},
                OutputMode::kCount),
          {});
      ASSERT_TRUE(runner.ok()) << runner.status().message();
      started_.store(true);
      do {
        Result<BatchResult> batch = (*runner)->RunGenerated(0, 1, 1000);
        ASSERT_TRUE(batch.ok()) << batch.status().message();
        ASSERT_EQ(batch->records_out, 1000u);
        batches_.fetch_add(1);
      } while (!stop_.load());
    });
  }
  // Stops the thread after it has run one more batch, so it ran both during and
  // after the failure it stood by; returns how many batches it ran.
  int StopAfterOneMoreBatch() {
    const int seen = batches_.load();
    while (batches_.load() == seen && started_.load()) std::this_thread::yield();
    stop_.store(true);
    thread_.join();
    return batches_.load();
  }

 private:
  std::atomic<bool> started_{false};
  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::thread thread_;
};

TEST(LimitsTest, InfiniteLoopIsStoppedByTheTimeLimit) {
  BystanderThread bystander;
  Limits limits;
  limits.call_timeout_ms = 200;
  auto runner =
      V8Engine().Create(Chain({Stage("op1", "id", "map", "(r) => r"),
                               Stage("op2", "spin", "map", "(r) => {\n  while (true) {}\n}")}),
                        limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();

  const auto start = std::chrono::steady_clock::now();
  Result<BatchResult> batch = (*runner)->RunText("a\n");
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(batch.status().message(), "operator 'spin' (op2) did not return within 200 ms");
  EXPECT_GE(elapsed, std::chrono::milliseconds(200));
  EXPECT_LT(elapsed, std::chrono::milliseconds(5000));
  // The runner stays failed; the process and the other isolates do not.
  EXPECT_EQ((*runner)->RunText("a\n").status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_GT(bystander.StopAfterOneMoreBatch(), 1);
  auto fresh = V8Engine().Create(Chain({Stage("op1", "id", "map", "(r) => r")}), limits);
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE((*fresh)->RunText("a\n").ok());
}

TEST(LimitsTest, SlowSourceFunctionIsNamed) {
  Limits limits;
  limits.call_timeout_ms = 100;
  auto runner = V8Engine().Create(
      Chain({Stage("op1", "slowgen", "source.generator", "(i) => { for (;;) {} }")}), limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> batch = (*runner)->RunGenerated(0, 1, 10);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message(), "operator 'slowgen' (op1) did not return within 100 ms");
}

TEST(LimitsTest, TopLevelCodeInAFunctionSourceIsTimeLimitedToo) {
  Limits limits;
  limits.call_timeout_ms = 100;
  auto runner = V8Engine().Create(
      Chain({Stage("op1", "sneaky", "map", "(() => { while (true) {} })()")}), limits);
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().message(), "operator 'sneaky' (op1) did not return within 100 ms");
}

TEST(LimitsTest, UnboundedAllocationIsStoppedByTheHeapLimit) {
  BystanderThread bystander;
  Limits limits;
  limits.heap_limit_mb = 32;
  limits.call_timeout_ms = 60000;
  auto runner =
      V8Engine().Create(Chain({Stage("op1", "id", "map", "(r) => r"),
                               Stage("op2", "hog", "map",
                                     "(r) => {\n  const all = [];\n  for (;;) all.push({r, s: "
                                     "'x' + all.length});\n}")}),
                        limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> batch = (*runner)->RunText("a\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(
      batch.status().message().rfind("operator 'hog' (op2) exceeded the JS heap limit of 32 MB", 0),
      0u)
      << batch.status().message();
  EXPECT_NE(batch.status().message().find("'id' (op1)"), std::string::npos);
  EXPECT_EQ((*runner)->RunText("a\n").status().code(), StatusCode::kResourceExhausted);
  runner = Status::Internal("destroyed");  // disposes the isolate
  EXPECT_GT(bystander.StopAfterOneMoreBatch(), 1);
}

TEST(LimitsTest, GlobalStateGrowingAcrossBatchesHitsTheHeapLimit) {
  Limits limits;
  limits.heap_limit_mb = 32;
  auto runner = V8Engine().Create(Chain({Stage("op1", "g", "source.generator"),
                                         Stage("op2", "leak", "map",
                                               "(i) => { (globalThis.kept ||= []).push(new "
                                               "Array(64).fill(i)); return i; }")},
                                        OutputMode::kCount),
                                  limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Status failure;
  for (int b = 0; b < 10000 && failure.ok(); ++b) {
    Result<BatchResult> batch = (*runner)->RunGenerated(b * 1000, 1, 1000);
    if (!batch.ok()) failure = batch.status();
  }
  EXPECT_EQ(failure.code(), StatusCode::kResourceExhausted) << failure.message();
  EXPECT_NE(failure.message().find("exceeded the JS heap limit of 32 MB"), std::string::npos)
      << failure.message();
}

TEST(LimitsTest, InterruptFromAnotherThreadCancelsTheCall) {
  Limits limits;
  limits.call_timeout_ms = 60000;
  auto runner =
      V8Engine().Create(Chain({Stage("op1", "forever", "map", "(r) => { for (;;) {} }")}), limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  std::atomic<bool> calling{false};
  std::thread interrupter([&] {
    while (!calling.load()) std::this_thread::yield();
    (*runner)->Interrupt();
  });
  // Whether Interrupt() lands just before V8 is entered or while the loop
  // spins, the call must end cancelled, long before its 60 s time limit.
  const auto start = std::chrono::steady_clock::now();
  calling.store(true);
  Result<BatchResult> batch = (*runner)->RunText("a\n");
  interrupter.join();
  EXPECT_EQ(batch.status().code(), StatusCode::kCancelled) << batch.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  // Cancellation is sticky.
  EXPECT_EQ((*runner)->RunText("a\n").status().code(), StatusCode::kCancelled);
}

TEST(LimitsTest, InterruptBetweenCallsCancelsTheNextCall) {
  auto runner = V8Engine().Create(Chain({Stage("op1", "id", "map", "(r) => r")}), {});
  ASSERT_TRUE(runner.ok());
  ASSERT_TRUE((*runner)->RunText("a\n").ok());
  (*runner)->Interrupt();
  EXPECT_EQ((*runner)->RunText("a\n").status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace sluice::js
