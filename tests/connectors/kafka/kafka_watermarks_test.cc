// Per-partition watermarks of the Kafka source (config "watermarks"): the config, the pure
// bookkeeping, and the source against a mock cluster with a fake clock.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "connectors/kafka/kafka_source.h"
#include "connectors/kafka/partition_watermarks.h"
#include "tests/connectors/kafka/mock_cluster.h"
#include "tests/worker/runtime/fake_chain.h"
#include "tests/worker/runtime/feed.h"

namespace sluice::kafka {
namespace {

using Clock = std::chrono::steady_clock;
using runtime::testing::FakeChain;
using std::chrono::milliseconds;
using testing::MockCluster;

constexpr char kLabel[] = "operator 'in' (op1)";

std::vector<std::string> Problems(const std::string& watermarks) {
  std::vector<std::string> problems;
  static_cast<void>(ParseSourceConfig(
      nlohmann::json::parse(R"({"brokers": "k:9092", "topics": ["t"], "watermarks": )" +
                            watermarks + "}"),
      &problems));
  return problems;
}

TEST(KafkaWatermarksConfigTest, ParsesWatermarks) {
  std::vector<std::string> problems;
  auto config = ParseSourceConfig(nlohmann::json::parse(R"({"brokers": "k:9092", "topics": ["t"],
      "watermarks": {"maxOutOfOrderness": 2000, "idleTimeout": 5000}})"),
                                  &problems);
  ASSERT_TRUE(problems.empty()) << problems.front();
  ASSERT_TRUE(config.watermarks.has_value());
  EXPECT_EQ(config.watermarks->max_out_of_orderness_ms, 2000);
  EXPECT_EQ(config.watermarks->idle_timeout_ms, 5000);

  config = ParseSourceConfig(
      nlohmann::json::parse(R"({"brokers": "k:9092", "topics": ["t"], "watermarks": {}})"),
      &problems);
  ASSERT_TRUE(problems.empty());
  ASSERT_TRUE(config.watermarks.has_value());
  EXPECT_EQ(config.watermarks->max_out_of_orderness_ms, 0);
  EXPECT_FALSE(config.watermarks->idle_timeout_ms.has_value());

  config = ParseSourceConfig(nlohmann::json::parse(R"({"brokers": "k:9092", "topics": ["t"]})"),
                             &problems);
  EXPECT_FALSE(config.watermarks.has_value());
}

TEST(KafkaWatermarksConfigTest, RefusesBadWatermarksNamingTheField) {
  EXPECT_EQ(Problems("true"),
            (std::vector<std::string>{
                ": config field \"watermarks\" must be { \"maxOutOfOrderness\": milliseconds >= "
                "0, \"idleTimeout\": milliseconds > 0 } (both optional), got true"}));
  EXPECT_EQ(Problems(R"({"maxOutOfOrderness": -1})"),
            (std::vector<std::string>{": config field \"watermarks.maxOutOfOrderness\" must be an "
                                      "integer number of milliseconds >= 0, got -1"}));
  EXPECT_EQ(Problems(R"({"idleTimeout": 0})"),
            (std::vector<std::string>{": config field \"watermarks.idleTimeout\" must be an "
                                      "integer number of milliseconds > 0, got 0"}));
  EXPECT_EQ(Problems(R"({"idleTimeout": "5s"})").size(), 1u);
  EXPECT_EQ(Problems(R"({"maxOutOfOrderness": 1.5})").size(), 1u);
  EXPECT_EQ(
      Problems(R"({"lateness": 1})"),
      (std::vector<std::string>{": unknown field \"lateness\" in config field "
                                "\"watermarks\" (accepted: maxOutOfOrderness, idleTimeout)"}));
  // The worker's parser says the same after the operator's label.
  auto config = SourceConfigFromJson(
      R"({"brokers": "k:9092", "topics": ["t"], "watermarks": {"idleTimeout": -5}})", kLabel);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().message(),
            std::string(kLabel) +
                ": config field \"watermarks.idleTimeout\" must be an integer "
                "number of milliseconds > 0, got -5");
}

TEST(PartitionWatermarksTest, FollowsTheSlowestPartitionUntilItGoesIdle) {
  const Clock::time_point t0{};
  PartitionWatermarks watermarks({/*ooo=*/100, /*idle=*/1000}, 2, t0);
  EXPECT_EQ(watermarks.Current(t0), js::kMinWatermark);  // no timestamps yet
  watermarks.OnMessage(1, 5000, t0);
  EXPECT_EQ(watermarks.Current(t0), js::kMinWatermark);  // partition 0 has none yet
  watermarks.OnMessage(0, 1000, t0);
  watermarks.OnMessage(0, 900, t0);  // out of order: the greatest counts
  EXPECT_EQ(watermarks.Current(t0), 1000 - 100 - 1);
  watermarks.OnMessage(1, 6000, t0 + milliseconds(600));
  EXPECT_EQ(watermarks.Current(t0 + milliseconds(999)), 899);
  // Partition 0 has been silent for idleTimeout: partition 1 alone decides.
  EXPECT_EQ(watermarks.Current(t0 + milliseconds(1000)), 6000 - 101);
  EXPECT_FALSE(watermarks.AllIdle(t0 + milliseconds(1000)));
  EXPECT_TRUE(watermarks.AllIdle(t0 + milliseconds(1600)));
  EXPECT_EQ(watermarks.Current(t0 + milliseconds(1600)), std::nullopt);
  // A message wakes partition 0 again: it holds the watermark back again.
  watermarks.OnMessage(0, 2000, t0 + milliseconds(1700));
  EXPECT_EQ(watermarks.Current(t0 + milliseconds(1700)), 1899);
  // A finished partition does not hold it back.
  watermarks.OnFinished(0);
  watermarks.OnMessage(1, 7000, t0 + milliseconds(1700));
  EXPECT_EQ(watermarks.Current(t0 + milliseconds(1700)), 6899);
}

TEST(PartitionWatermarksTest, WithoutIdleTimeoutASilentPartitionHoldsTheWatermarkForever) {
  const Clock::time_point t0{};
  PartitionWatermarks watermarks({0, std::nullopt}, 2, t0);
  watermarks.OnMessage(1, 5000, t0);
  EXPECT_EQ(watermarks.Current(t0 + std::chrono::hours(24)), js::kMinWatermark);
  EXPECT_FALSE(watermarks.AllIdle(t0 + std::chrono::hours(24)));
  PartitionWatermarks none({0, std::nullopt}, 0, t0);
  EXPECT_TRUE(none.AllIdle(t0));
  EXPECT_EQ(none.Current(t0), std::nullopt);
}

// The source against a mock cluster; time as the test says.
class KafkaSourceWatermarksTest : public ::testing::Test {
 protected:
  std::unique_ptr<KafkaSource> MakeSource(const std::string& watermarks, uint32_t subtask = 0,
                                          uint32_t parallelism = 1) {
    auto config =
        SourceConfigFromJson(R"({"brokers": ")" + cluster_.bootstrap() +
                                 R"(", "topics": ["ts"], "watermarks": )" + watermarks + "}",
                             kLabel);
    EXPECT_TRUE(config.ok()) << config.status().message();
    runtime::SourceContext context{kLabel, subtask, parallelism, &cancel_};
    auto source = KafkaSource::Create(std::move(config).value(), context);
    EXPECT_TRUE(source.ok()) << source.status().message();
    (*source)->SetClockForTesting([this] { return now_; });
    return std::move(source).value();
  }

  // Calls Next() until `count` records came; their event times, from the batches' times lines.
  std::vector<int64_t> TakeTimes(KafkaSource& source, size_t count) {
    std::vector<int64_t> times;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (times.size() < count && Clock::now() < deadline) {
      auto batch = feed_.Next(source);
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || !batch->has_value()) break;
      const std::string& text = (*batch)->json_lines;
      if (text.empty()) continue;
      EXPECT_EQ(text[0], '\x02') << text;
      auto line = nlohmann::json::parse(text.substr(1, text.find('\n') - 1));
      for (const auto& t : line) times.push_back(t.get<int64_t>());
      EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')), line.size() + 1);
    }
    return times;
  }

  // The results of Next() calls until one moved the chain's time or reported idleness (5 s
  // at most: an idle source returns every 0.5 s).
  std::optional<js::BatchResult> NextTimeChange(KafkaSource& source) {
    for (int i = 0; i < 10; ++i) {
      const size_t advances = chain_.advances.size();
      auto batch = feed_.Next(source);
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || !batch->has_value()) return std::nullopt;
      if (chain_.advances.size() > advances || (*batch)->idle.has_value()) return **batch;
    }
    return std::nullopt;
  }

  MockCluster cluster_;
  runtime::CancelSignal cancel_;
  FakeChain chain_;
  runtime::testing::Feed feed_{chain_};
  Clock::time_point now_{};
};

TEST_F(KafkaSourceWatermarksTest, TheWatermarkFollowsTheSlowerPartitionUntilItIsIdle) {
  cluster_.CreateTopic("ts", 2);
  for (int i = 0; i < 10; ++i) {
    cluster_.Produce("ts", 0, std::nullopt, "slow", 1000 + i);
    cluster_.Produce("ts", 1, std::nullopt, "fast", 5000 + i);
  }
  cluster_.Flush();
  auto source = MakeSource(R"({"maxOutOfOrderness": 100, "idleTimeout": 1000})");
  std::vector<int64_t> times = TakeTimes(*source, 20);
  std::sort(times.begin(), times.end());
  std::vector<int64_t> expected;
  for (int i = 0; i < 10; ++i) expected.push_back(1000 + i);
  for (int i = 0; i < 10; ++i) expected.push_back(5000 + i);
  EXPECT_EQ(times, expected);  // each record's event time is its message's timestamp

  // The chain's watermark: partition 0's greatest timestamp - 100 - 1, never more. (The time
  // moves on at the start of the Next() after the batch; TakeTimes may have made that call.)
  ASSERT_TRUE(feed_.Next(*source).ok());
  EXPECT_EQ(chain_.last_watermark, 1009 - 101);
  for (const auto& w : chain_.advances) EXPECT_LE(w.value_or(0), 1009 - 101);

  // Only partition 1 gets messages; after idleTimeout partition 0 stops holding it back.
  now_ += milliseconds(600);
  cluster_.Produce("ts", 1, std::nullopt, "fast", 6000);
  cluster_.Flush();
  EXPECT_EQ(TakeTimes(*source, 1), std::vector<int64_t>{6000});
  EXPECT_EQ(chain_.last_watermark, 1009 - 101);
  now_ += milliseconds(400);  // partition 0 silent for 1000 ms, partition 1 for 400
  auto moved = NextTimeChange(*source);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(chain_.last_watermark, 6000 - 101);
  EXPECT_EQ(moved->watermark, 6000 - 101);  // what AdvanceTime returned goes downstream
  EXPECT_FALSE(moved->idle.has_value());

  // Both silent: the source says it is idle; a record ends that.
  now_ += milliseconds(1000);
  moved = NextTimeChange(*source);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->idle, true);
  cluster_.Produce("ts", 0, std::nullopt, "slow", 2000);
  cluster_.Flush();
  std::optional<bool> idle;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (!idle.has_value() && Clock::now() < deadline) {
    auto batch = feed_.Next(*source);
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    ASSERT_TRUE(batch->has_value());
    if ((*batch)->records_in > 0) idle = (*batch)->idle;
  }
  EXPECT_EQ(idle, false);
  // Partition 0 (2000) is behind, but a watermark never goes back.
  EXPECT_EQ(chain_.last_watermark, 6000 - 101);
  for (size_t i = 1; i < chain_.advances.size(); ++i) {
    EXPECT_LE(chain_.advances[i - 1].value_or(0), chain_.advances[i].value_or(0));
  }
}

TEST_F(KafkaSourceWatermarksTest, BatchesCarryTheRecordsEventTimesThenTheWatermarkWithoutAChain) {
  // The source alone, no chain: its InputBatches hold the lines with one event time each, and
  // a watermark comes in a batch of its own once the records before it are out. librdkafka may
  // hand the three records over in more than one fetch (a loaded machine), so a watermark may
  // follow the first of them: read until the last record's watermark, never going back.
  cluster_.CreateTopic("ts", 1);
  for (int i = 0; i < 3; ++i) cluster_.Produce("ts", 0, std::nullopt, "v", 2000 + i);
  cluster_.Flush();
  auto source = MakeSource(R"({"maxOutOfOrderness": 10})");
  std::vector<std::optional<int64_t>> times;
  std::optional<int64_t> watermark;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (watermark != 2002 - 10 - 1 && Clock::now() < deadline) {
    auto batch = source->Next();
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    ASSERT_FALSE(batch->end);
    if (batch->has_records()) {
      EXPECT_EQ(batch->event_times.size(),
                static_cast<size_t>(std::count(batch->text.begin(), batch->text.end(), '\n')));
      EXPECT_NE(batch->text[0], '\x02');  // the codec's frame is worker/js's business
      EXPECT_FALSE(batch->watermark.has_value());
      times.insert(times.end(), batch->event_times.begin(), batch->event_times.end());
    }
    if (batch->watermark.has_value()) {
      // Each watermark is the newest time read so far, less the bound and 1.
      ASSERT_FALSE(times.empty());
      EXPECT_EQ(*batch->watermark, *times.back() - 10 - 1);
      EXPECT_GE(*batch->watermark, watermark.value_or(*batch->watermark));
      watermark = batch->watermark;
    }
  }
  EXPECT_EQ(times, (std::vector<std::optional<int64_t>>{2000, 2001, 2002}));
  EXPECT_EQ(watermark, 2002 - 10 - 1);
  EXPECT_TRUE(chain_.calls.empty());
}

TEST_F(KafkaSourceWatermarksTest, ASubtaskWithoutPartitionsIsIdleAtOnce) {
  cluster_.CreateTopic("ts", 1);
  auto source = MakeSource("{}", 1, 2);  // subtask 1 of 2: the one partition goes to subtask 0
  auto moved = NextTimeChange(*source);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(moved->idle, true);
  EXPECT_TRUE(chain_.advances.empty());
}

TEST_F(KafkaSourceWatermarksTest, AFinishedPartitionDoesNotHoldTheWatermarkBack) {
  // Bounded: partition 0 is empty, so it is finished from the start; without that it would
  // hold the watermark at -infinity (no idle timeout).
  cluster_.CreateTopic("ts", 2);
  for (int i = 0; i < 5; ++i) cluster_.Produce("ts", 1, std::nullopt, "b", 3000 + i);
  cluster_.Flush();
  auto config = SourceConfigFromJson(R"({"brokers": ")" + cluster_.bootstrap() +
                                         R"(", "topics": ["ts"], "bounded": true,
                                         "watermarks": {"maxOutOfOrderness": 0}})",
                                     kLabel);
  ASSERT_TRUE(config.ok());
  runtime::SourceContext context{kLabel, 0, 1, &cancel_, /*batch_size=*/1};
  auto source = KafkaSource::Create(std::move(config).value(), context);
  ASSERT_TRUE(source.ok());
  size_t records = 0;
  while (true) {
    auto batch = feed_.Next(**source);
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    if (!batch->has_value()) break;
    const std::string& text = (*batch)->json_lines;  // the fake passes the times line on
    if (!text.empty()) records += std::count(text.begin(), text.end(), '\n') - 1;
    EXPECT_NE((*batch)->idle, std::optional<bool>(true));  // finishing is not being idle
  }
  EXPECT_EQ(records, 5u);
  EXPECT_GE(chain_.last_watermark, 3000 - 1);
  EXPECT_LE(chain_.last_watermark, 3004 - 1);
}

}  // namespace
}  // namespace sluice::kafka
