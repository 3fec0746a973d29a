#include "connectors/kafka/kafka_sink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "tests/connectors/kafka/mock_cluster.h"

namespace sluice::kafka {
namespace {

using Clock = std::chrono::steady_clock;
using testing::MockCluster;

constexpr char kLabel[] = "operator 'out' (op3)";

js::BatchResult Batch(const std::string& lines) {
  js::BatchResult batch;
  batch.json_lines = lines;
  return batch;
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  std::unique_ptr<KafkaSink> MakeSink(const std::string& topic,
                                      const std::string& properties = "") {
    auto config = SinkConfigFromJson(R"({"brokers": ")" + cluster_.bootstrap() +
                                         R"(", "topic": ")" + topic + "\"" + properties + "}",
                                     kLabel);
    EXPECT_TRUE(config.ok()) << config.status().message();
    runtime::SinkContext context;
    context.operator_label = kLabel;
    context.health = &health_;
    auto sink = KafkaSink::Create(std::move(config).value(), context);
    EXPECT_TRUE(sink.ok()) << sink.status().message();
    return std::move(sink).value();
  }

  MockCluster cluster_;
  runtime::ConnectorHealth health_;
};

TEST_F(KafkaSinkTest, WritesKeysValuesAndExplicitPartitions) {
  cluster_.CreateTopic("out", 3);
  auto sink = MakeSink("out");
  ASSERT_TRUE(sink->Write(Batch("{\"k\":\"a\",\"v\":\"one\",\"p\":2}\n"
                                "{\"v\":{\"n\":1},\"p\":0}\n"
                                "{\"k\":{\"base64\":\"AAE=\"},\"v\":null,\"p\":2}\n"))
                  .ok());
  Status finished = sink->Finish();
  ASSERT_TRUE(finished.ok()) << finished.message();
  EXPECT_EQ(sink->delivered(), 3u);
  auto messages = cluster_.ReadAll("out", 3);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[0].partition, 0);
  EXPECT_FALSE(messages[0].key.has_value());
  EXPECT_EQ(messages[0].value, "{\"n\":1}");
  EXPECT_EQ(messages[1].partition, 2);
  EXPECT_EQ(messages[1].key, "a");
  EXPECT_EQ(messages[1].value, "one");
  EXPECT_EQ(messages[2].partition, 2);
  EXPECT_EQ(messages[2].key, std::string("\x00\x01", 2));
  EXPECT_FALSE(messages[2].value.has_value());  // a tombstone
}

TEST_F(KafkaSinkTest, MessagesWithTheSameKeyGoToTheSamePartition) {
  cluster_.CreateTopic("out", 4);
  auto sink = MakeSink("out");
  std::string lines;
  for (int i = 0; i < 200; ++i) {
    lines +=
        "{\"k\":\"user-" + std::to_string(i % 20) + "\",\"v\":\"" + std::to_string(i) + "\"}\n";
  }
  ASSERT_TRUE(sink->Write(Batch(lines)).ok());
  ASSERT_TRUE(sink->Finish().ok());
  std::map<std::string, std::set<int32_t>> partitions_of;
  std::set<int32_t> used;
  auto messages = cluster_.ReadAll("out", 4);
  EXPECT_EQ(messages.size(), 200u);
  for (const auto& m : messages) {
    partitions_of[*m.key].insert(m.partition);
    used.insert(m.partition);
  }
  EXPECT_EQ(partitions_of.size(), 20u);
  for (const auto& [key, partitions] : partitions_of) EXPECT_EQ(partitions.size(), 1u) << key;
  EXPECT_GT(used.size(), 1u);
}

TEST_F(KafkaSinkTest, KeyedMessagesGoWhereKafkasJavaClientPutsThem) {
  // murmur2(key) & 0x7fffffff mod 4, with murmur2 values from Kafka's own UtilsTest:
  // "21" -> -973932308, "foobar" -> -790332482, "abc" -> 479470107.
  cluster_.CreateTopic("out", 4);
  auto sink = MakeSink("out");
  ASSERT_TRUE(sink->Write(Batch("{\"k\":\"21\",\"v\":\"a\"}\n"
                                "{\"k\":\"foobar\",\"v\":\"b\"}\n"
                                "{\"k\":\"abc\",\"v\":\"c\"}\n"))
                  .ok());
  ASSERT_TRUE(sink->Finish().ok());
  std::map<std::string, int32_t> partition_of;
  for (const auto& m : cluster_.ReadAll("out", 4)) partition_of[*m.key] = m.partition;
  EXPECT_EQ(partition_of, (std::map<std::string, int32_t>{{"21", 0}, {"foobar", 2}, {"abc", 3}}));
}

TEST_F(KafkaSinkTest, ALineWithoutAValueIsAUserErrorNamingTheOperator) {
  cluster_.CreateTopic("out", 1);
  auto sink = MakeSink("out");
  Status status = sink->Write(Batch("{\"k\":\"a\"}\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  EXPECT_EQ(status.message().rfind(std::string(kLabel) + ": a record (or what the value function "
                                                         "returned) is undefined",
                                   0),
            0u)
      << status.message();
}

TEST_F(KafkaSinkTest, APartitionTheTopicDoesNotHaveFailsTheSink) {
  cluster_.CreateTopic("out", 2);
  auto sink = MakeSink("out");
  Status status = sink->Write(Batch("{\"v\":\"x\",\"p\":7}\n"));
  if (status.ok()) status = sink->Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind(kLabel, 0), 0u) << status.message();
  EXPECT_NE(status.message().find("artition"), std::string::npos) << status.message();
}

TEST_F(KafkaSinkTest, FinishWaitsForBrokersThatAreAwayAndReportsThem) {
  cluster_.CreateTopic("out", 1);
  auto sink = MakeSink("out");
  ASSERT_TRUE(sink->Write(Batch("{\"v\":\"before\"}\n")).ok());
  ASSERT_TRUE(sink->Finish().ok());  // connected and delivered
  cluster_.SetDown(true);
  std::string lines;
  for (int i = 0; i < 50; ++i) lines += "{\"v\":\"m" + std::to_string(i) + "\"}\n";
  ASSERT_TRUE(sink->Write(Batch(lines)).ok());
  auto finished = std::async(std::launch::async, [&] { return sink->Finish(); });
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while (health_.problem().empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string problem = health_.problem();
  EXPECT_EQ(problem.rfind(std::string(kLabel) + ": kafka " + cluster_.bootstrap() + ": ", 0), 0u)
      << problem;
  EXPECT_EQ(finished.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  cluster_.SetDown(false);
  Status status = finished.get();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(health_.problem(), "");
  auto messages = cluster_.ReadAll("out", 1);
  ASSERT_EQ(messages.size(), 51u);  // at least once: with the idempotent producer, exactly once
  EXPECT_EQ(messages[1].value, "m0");
  EXPECT_EQ(messages[50].value, "m49");
}

TEST_F(KafkaSinkTest, CancelEndsAFinishThatWaitsForBrokers) {
  cluster_.CreateTopic("out", 1);
  cluster_.SetDown(true);
  auto sink = MakeSink("out");
  ASSERT_TRUE(sink->Write(Batch("{\"v\":\"x\"}\n")).ok());
  auto finished = std::async(std::launch::async, [&] { return sink->Finish(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sink->Cancel();
  EXPECT_EQ(finished.get().code(), StatusCode::kCancelled);
}

TEST_F(KafkaSinkTest, ABadPropertyIsAUserErrorNamingIt) {
  auto config = SinkConfigFromJson(
      R"({"brokers": "k:1", "topic": "t", "properties": {"no.such.thing": 1}})", kLabel);
  ASSERT_TRUE(config.ok());
  runtime::SinkContext context;
  context.operator_label = kLabel;
  auto sink = KafkaSink::Create(std::move(config).value(), context);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(
      sink.status().message().find(std::string(kLabel) + ": Kafka property \"no.such.thing\""),
      std::string::npos)
      << sink.status().message();
}

}  // namespace
}  // namespace sluice::kafka
