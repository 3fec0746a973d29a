#include "connectors/kafka/kafka_source.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/connectors/kafka/mock_cluster.h"
#include "tests/worker/runtime/fake_chain.h"
#include "tests/worker/runtime/feed.h"

namespace sluice::kafka {
namespace {

using Clock = std::chrono::steady_clock;
using runtime::testing::FakeChain;
using testing::MockCluster;

constexpr char kLabel[] = "operator 'in' (op1)";

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

class KafkaSourceTest : public ::testing::Test {
 protected:
  std::unique_ptr<KafkaSource> MakeSource(const std::string& extra, uint32_t subtask = 0,
                                          uint32_t parallelism = 1, PartitionOffsets offsets = {}) {
    auto config = SourceConfigFromJson(
        R"({"brokers": ")" + cluster_.bootstrap() + "\"" + extra + "}", kLabel);
    EXPECT_TRUE(config.ok()) << config.status().message();
    runtime::SourceContext context{kLabel, subtask, parallelism, &cancel_};
    context.health = &health_;
    auto source = KafkaSource::Create(std::move(config).value(), context, std::move(offsets));
    EXPECT_TRUE(source.ok()) << source.status().message();
    return std::move(source).value();
  }

  // Runs a bounded source to its end; the records' JSON lines.
  std::vector<std::string> Drain(KafkaSource& source) {
    std::vector<std::string> lines;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      auto batch = feed_.Next(source);
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || !batch->has_value()) return lines;
      for (auto& line : SplitLines((*batch)->json_lines)) lines.push_back(std::move(line));
    }
    ADD_FAILURE() << "the bounded source did not end within 20 s";
    return lines;
  }

  // Calls Next() until `count` records have come (or 20 s have passed).
  std::vector<std::string> Take(KafkaSource& source, size_t count) {
    std::vector<std::string> lines;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (lines.size() < count && Clock::now() < deadline) {
      auto batch = feed_.Next(source);
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || !batch->has_value()) break;
      for (auto& line : SplitLines((*batch)->json_lines)) lines.push_back(std::move(line));
    }
    return lines;
  }

  MockCluster cluster_;
  runtime::CancelSignal cancel_;
  runtime::ConnectorHealth health_;
  FakeChain chain_;
  runtime::testing::Feed feed_{chain_};
};

TEST_F(KafkaSourceTest, SubtasksReadDisjointPartitionsThatTogetherCoverEveryMessage) {
  cluster_.CreateTopic("in", 3);
  cluster_.CreateTopic("other", 1);
  std::set<std::string> expected;
  for (int p = 0; p < 3; ++p) {
    for (int i = 0; i < 10; ++i) {
      std::string value = "in-" + std::to_string(p) + "-" + std::to_string(i);
      cluster_.Produce("in", p, std::nullopt, value);
      expected.insert("\"" + value + "\"");
    }
  }
  for (int i = 0; i < 5; ++i) {
    cluster_.Produce("other", 0, std::nullopt, "other-" + std::to_string(i));
    expected.insert("\"other-" + std::to_string(i) + "\"");
  }
  cluster_.Flush();

  std::set<std::string> seen;
  size_t total = 0;
  for (uint32_t subtask = 0; subtask < 2; ++subtask) {
    auto source = MakeSource(R"(, "topics": ["other", "in"], "bounded": true)", subtask, 2);
    std::vector<std::string> lines = Drain(*source);
    total += lines.size();
    seen.insert(lines.begin(), lines.end());
    EXPECT_EQ(source->assignment(), AssignPartitions({{"in", 3}, {"other", 1}}, subtask, 2));
    for (const TopicPartition& tp : source->assignment()) {
      EXPECT_EQ(source->next_offsets().at(tp), KafkaOffset(tp.topic == "in" ? 10 : 5))
          << tp.ToString();
    }
    // Within a partition the order is the log's.
    std::vector<std::string> in0;
    for (const auto& line : lines) {
      if (line.rfind("\"in-0-", 0) == 0) in0.push_back(line);
    }
    EXPECT_TRUE(std::is_sorted(in0.begin(), in0.end()));
  }
  EXPECT_EQ(total, expected.size());
  EXPECT_EQ(seen, expected);
}

TEST_F(KafkaSourceTest, BoundedStopsAtTheEndOffsetsAsOfTheStart) {
  cluster_.CreateTopic("in", 1);
  for (int i = 0; i < 5; ++i) cluster_.Produce("in", 0, std::nullopt, "old" + std::to_string(i));
  cluster_.Flush();
  auto source = MakeSource(R"(, "topics": ["in"], "bounded": true)");
  auto first = feed_.Next(*source);
  ASSERT_TRUE(first.ok()) << first.status().message();
  for (int i = 0; i < 5; ++i) cluster_.Produce("in", 0, std::nullopt, "new" + std::to_string(i));
  cluster_.Flush();
  std::vector<std::string> lines =
      first->has_value() ? SplitLines((*first)->json_lines) : std::vector<std::string>{};
  for (auto& line : Drain(*source)) lines.push_back(line);
  EXPECT_EQ(lines,
            (std::vector<std::string>{"\"old0\"", "\"old1\"", "\"old2\"", "\"old3\"", "\"old4\""}));
  EXPECT_EQ(source->next_offsets().at({"in", 0}), KafkaOffset(5));
}

TEST_F(KafkaSourceTest, ResumesFromGivenOffsets) {
  cluster_.CreateTopic("in", 2);
  for (int i = 0; i < 10; ++i) {
    cluster_.Produce("in", 0, std::nullopt, "a" + std::to_string(i));
    cluster_.Produce("in", 1, std::nullopt, "b" + std::to_string(i));
  }
  cluster_.Flush();
  auto source =
      MakeSource(R"(, "topics": ["in"], "bounded": true)", 0, 1, {{{"in", 0}, KafkaOffset(7)}});
  std::vector<std::string> lines = Drain(*source);
  std::sort(lines.begin(), lines.end());
  std::vector<std::string> expected{"\"a7\"", "\"a8\"", "\"a9\""};
  for (int i = 0; i < 10; ++i) expected.push_back("\"b" + std::to_string(i) + "\"");
  EXPECT_EQ(lines, expected);
}

TEST_F(KafkaSourceTest, LatestReadsOnlyMessagesProducedAfterTheStart) {
  cluster_.CreateTopic("in", 1);
  for (int i = 0; i < 3; ++i) cluster_.Produce("in", 0, std::nullopt, "before");
  cluster_.Flush();
  auto source = MakeSource(R"(, "topics": ["in"], "startFrom": "latest")");
  auto idle = feed_.Next(*source);  // connects; nothing new yet: an empty batch
  ASSERT_TRUE(idle.ok()) << idle.status().message();
  ASSERT_TRUE(idle->has_value());
  EXPECT_EQ((*idle)->records_in, 0u);
  cluster_.Produce("in", 0, std::nullopt, "after1");
  cluster_.Produce("in", 0, std::nullopt, "after2");
  cluster_.Flush();
  EXPECT_EQ(Take(*source, 2), (std::vector<std::string>{"\"after1\"", "\"after2\""}));
}

TEST_F(KafkaSourceTest, TimestampStartBeginsAtTheFirstMessageAtOrAfterIt) {
  cluster_.CreateTopic("in", 1);
  const int64_t timestamps[] = {1000, 1003, 1006, 1001, 1009};
  for (int64_t ts : timestamps) cluster_.Produce("in", 0, std::nullopt, std::to_string(ts), ts);
  cluster_.Flush();
  auto source =
      MakeSource(R"(, "topics": ["in"], "bounded": true, "startFrom": {"timestamp": 1005})");
  // Like Kafka's offsetsForTimes: from the first message at or after the time, everything.
  EXPECT_EQ(Drain(*source), (std::vector<std::string>{"\"1006\"", "\"1001\"", "\"1009\""}));
  EXPECT_EQ(source->next_offsets().at({"in", 0}), KafkaOffset(5));

  auto later =
      MakeSource(R"(, "topics": ["in"], "bounded": true, "startFrom": {"timestamp": 5000})");
  EXPECT_TRUE(Drain(*later).empty());
}

TEST_F(KafkaSourceTest, BytesFormatGivesKeyValueHeadersTimestampAndPosition) {
  cluster_.CreateTopic("in", 2);
  cluster_.Produce("in", 1, "k1", std::string("\xFF\x00", 2), 1700000000000, {{"h", "v"}});
  cluster_.Produce("in", 1, std::nullopt, std::nullopt, 1700000000001);  // a tombstone
  cluster_.Flush();
  auto source = MakeSource(R"(, "topics": ["in"], "bounded": true, "format": "bytes")");
  std::vector<std::string> lines = Drain(*source);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(lines[0]), nlohmann::json::parse(R"({
      "key": "k1", "value": {"base64": "/wA="}, "headers": [{"key": "h", "value": "v"}],
      "timestamp": 1700000000000, "topic": "in", "partition": 1, "offset": 0})"));
  EXPECT_EQ(nlohmann::json::parse(lines[1]), nlohmann::json::parse(R"({
      "key": null, "value": null, "headers": [], "timestamp": 1700000000001, "topic": "in",
      "partition": 1, "offset": 1})"));
}

TEST_F(KafkaSourceTest, StringAndJsonFormatsSkipTombstones) {
  cluster_.CreateTopic("in", 1);
  cluster_.Produce("in", 0, std::nullopt, R"({"a": 1})");
  cluster_.Produce("in", 0, "deleted", std::nullopt);
  cluster_.Produce("in", 0, std::nullopt, "[2]");
  cluster_.Flush();
  auto source = MakeSource(R"(, "topics": ["in"], "bounded": true, "format": "json")");
  EXPECT_EQ(Drain(*source), (std::vector<std::string>{R"({"a": 1})", "[2]"}));
  EXPECT_EQ(source->next_offsets().at({"in", 0}), KafkaOffset(3));
}

TEST_F(KafkaSourceTest, AValueThatIsNotJsonNamesThePartitionAndOffset) {
  cluster_.CreateTopic("in", 1);
  cluster_.Produce("in", 0, std::nullopt, R"({"ok": true})");
  cluster_.Produce("in", 0, std::nullopt, "");
  cluster_.Flush();
  auto source = MakeSource(R"(, "topics": ["in"], "bounded": true, "format": "json")");
  auto batch = feed_.Next(*source);  // the good message may come in a batch of its own
  while (batch.ok() && batch->has_value()) batch = feed_.Next(*source);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(batch.status().message(),
            std::string(kLabel) + ": in[0] offset 1: the value is not JSON (it is empty)");
}

TEST_F(KafkaSourceTest, AMissingTopicIsAUserErrorNamingIt) {
  cluster_.CreateTopic("in", 1);
  auto source = MakeSource(R"(, "topics": ["in", "nope"])");
  auto batch = feed_.Next(*source);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(batch.status().message().find(std::string(kLabel) + ": kafka " + cluster_.bootstrap() +
                                          ": topic 'nope' does not exist"),
            std::string::npos)
      << batch.status().message();
}

TEST_F(KafkaSourceTest, UnreachableBrokersAreRetriedAndReportedUntilTheyAreBack) {
  cluster_.CreateTopic("in", 1);
  cluster_.Produce("in", 0, std::nullopt, "one");
  cluster_.Flush();
  cluster_.SetDown(true);
  auto source = MakeSource(R"(, "topics": ["in"])");
  auto first = std::async(std::launch::async, [&] { return Take(*source, 1); });
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (health_.problem().empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string problem = health_.problem();
  EXPECT_EQ(problem.rfind(std::string(kLabel) + ": kafka " + cluster_.bootstrap() + ": ", 0), 0u)
      << problem;
  EXPECT_NE(problem.find("retrying"), std::string::npos) << problem;
  cluster_.SetDown(false);
  EXPECT_EQ(first.get(), (std::vector<std::string>{"\"one\""}));
  EXPECT_EQ(health_.problem(), "");
  EXPECT_GT(health_.retries(), 0u);

  // Down again while reading: reported, then the reading goes on where it was.
  cluster_.SetDown(true);
  const auto again = Clock::now() + std::chrono::seconds(20);
  while (health_.problem().empty() && Clock::now() < again) {
    auto idle = feed_.Next(*source);
    ASSERT_TRUE(idle.ok()) << idle.status().message();
  }
  EXPECT_NE(health_.problem(), "");
  cluster_.SetDown(false);
  cluster_.Produce("in", 0, std::nullopt, "two");
  cluster_.Flush();
  EXPECT_EQ(Take(*source, 1), (std::vector<std::string>{"\"two\""}));
  const auto healthy = Clock::now() + std::chrono::seconds(20);
  while (!health_.problem().empty() && Clock::now() < healthy) {
    ASSERT_TRUE(feed_.Next(*source).ok());
  }
  EXPECT_EQ(health_.problem(), "");
}

TEST_F(KafkaSourceTest, AnOutageLongerThanTheRetryBudgetFailsTheTaskNamingTheBrokers) {
  cluster_.CreateTopic("in", 1);
  cluster_.Produce("in", 0, std::nullopt, "one");
  cluster_.Flush();
  auto source = MakeSource(R"(, "topics": ["in"], "retryTimeoutMs": 1500)");
  ASSERT_EQ(Take(*source, 1), (std::vector<std::string>{"\"one\""}));
  cluster_.SetDown(true);
  const auto down_at = Clock::now();
  Status failed = Status::Ok();
  while (failed.ok() && Clock::now() - down_at < std::chrono::seconds(30)) {
    auto batch = feed_.Next(*source);
    if (!batch.ok()) failed = batch.status();
  }
  cluster_.SetDown(false);
  ASSERT_FALSE(failed.ok()) << "the source still waited 30 s into the outage";
  EXPECT_GE(Clock::now() - down_at, std::chrono::milliseconds(1500));
  EXPECT_EQ(failed.domain(), ErrorDomain::kExternal);
  const std::string prefix = std::string(kLabel) + ": kafka " + cluster_.bootstrap() +
                             ": unreachable while reading: gave up after ";
  EXPECT_EQ(failed.message().rfind(prefix, 0), 0u) << failed.message();
  EXPECT_NE(failed.message().find("(retry budget: 1500 ms"), std::string::npos)
      << failed.message();
  EXPECT_NE(failed.message().find("; last error: "), std::string::npos) << failed.message();
}

TEST_F(KafkaSourceTest, AnIdleSourceWhoseBrokersCameBackWithinTheBudgetKeepsReading) {
  cluster_.CreateTopic("in", 1);
  // The budget leaves room for a loaded machine: reconnecting (backoff up to 1 s) and the next
  // statistics event (every second) both come after the brokers are up again.
  auto source = MakeSource(R"(, "topics": ["in"], "retryTimeoutMs": 4000)");
  ASSERT_TRUE(feed_.Next(*source).ok());  // connected, idle
  cluster_.SetDown(true);
  const auto reported = Clock::now() + std::chrono::seconds(20);
  while (health_.problem().empty() && Clock::now() < reported) {
    ASSERT_TRUE(feed_.Next(*source).ok());
  }
  ASSERT_NE(health_.problem(), "");
  cluster_.SetDown(false);
  // Nothing is produced: only the client's statistics can tell that the brokers are back.
  const auto healthy = Clock::now() + std::chrono::seconds(20);
  while (!health_.problem().empty() && Clock::now() < healthy) {
    auto batch = feed_.Next(*source);
    ASSERT_TRUE(batch.ok()) << batch.status().message();
  }
  EXPECT_EQ(health_.problem(), "");
  // Well past the budget after the outage: still reading.
  const auto until = Clock::now() + std::chrono::milliseconds(4500);
  while (Clock::now() < until) {
    auto batch = feed_.Next(*source);
    ASSERT_TRUE(batch.ok()) << batch.status().message();
  }
  cluster_.Produce("in", 0, std::nullopt, "late");
  cluster_.Flush();
  EXPECT_EQ(Take(*source, 1), (std::vector<std::string>{"\"late\""}));
}

TEST_F(KafkaSourceTest, AMessageLongerThanTheLineLimitFailsNamingItsPartitionAndOffset) {
  cluster_.CreateTopic("in", 1);
  cluster_.Produce("in", 0, std::nullopt, "short");
  cluster_.Produce("in", 0, std::string("k"), std::string(100, 'x'));
  cluster_.Flush();
  auto config = SourceConfigFromJson(
      R"({"brokers": ")" + cluster_.bootstrap() + R"(", "topics": ["in"], "bounded": true})",
      kLabel);
  ASSERT_TRUE(config.ok()) << config.status().message();
  runtime::SourceContext context{kLabel, 0, 1, &cancel_};
  context.max_line_bytes = 64;
  auto source = KafkaSource::Create(std::move(config).value(), context);
  ASSERT_TRUE(source.ok()) << source.status().message();
  Status failed = Status::Ok();
  for (int i = 0; i < 100 && failed.ok(); ++i) {
    auto batch = feed_.Next(**source);
    if (!batch.ok()) failed = batch.status();
    else if (!batch->has_value()) break;
  }
  EXPECT_EQ(failed.message(),
            std::string(kLabel) + ": in[0] offset 1: the message is 101 bytes (key and value), "
                                  "over the limit of 64 bytes for one input record "
                                  "(--max-line-bytes)");
  EXPECT_EQ(failed.domain(), ErrorDomain::kUser);
}

TEST(KafkaStatisticsTest, SayWhetherABrokerOtherThanTheInternalOneIsUp) {
  EXPECT_EQ(AnyBrokerUp(R"({"brokers": {":0/internal": {"state": "UP", "source": "internal"},
      "127.0.0.1:9092/1": {"state": "TRY_CONNECT", "source": "learned"}}})"),
            std::optional<bool>(false));
  EXPECT_EQ(AnyBrokerUp(R"({"brokers": {"127.0.0.1:9092/bootstrap": {"state": "DOWN",
      "source": "configured"}, "127.0.0.1:9092/1": {"state": "UP", "source": "learned"}}})"),
            std::optional<bool>(true));
  EXPECT_EQ(AnyBrokerUp("not json"), std::nullopt);
  EXPECT_EQ(AnyBrokerUp(R"({"name": "x"})"), std::nullopt);
}

TEST_F(KafkaSourceTest, CancelEndsAWaitingNext) {
  cluster_.CreateTopic("in", 1);
  auto source = MakeSource(R"(, "topics": ["in"])");
  ASSERT_TRUE(feed_.Next(*source).ok());  // connected, idle
  auto waiting = std::async(std::launch::async, [&] {
    Result<std::optional<js::BatchResult>> last = std::optional<js::BatchResult>();
    while (true) {
      last = feed_.Next(*source);
      if (!last.ok()) return last.status();
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto cancelled_at = Clock::now();
  cancel_.Cancel();
  source->Cancel();
  Status status = waiting.get();
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_LT(Clock::now() - cancelled_at, std::chrono::seconds(1));
}

}  // namespace
}  // namespace sluice::kafka
