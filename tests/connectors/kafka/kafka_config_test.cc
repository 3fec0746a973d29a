#include "connectors/kafka/kafka_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace sluice::kafka {
namespace {

using nlohmann::json;

std::vector<std::string> SourceProblems(const std::string& text) {
  std::vector<std::string> problems;
  static_cast<void>(ParseSourceConfig(json::parse(text), &problems));
  return problems;
}

std::vector<std::string> SinkProblems(const std::string& text) {
  std::vector<std::string> problems;
  static_cast<void>(ParseSinkConfig(json::parse(text), &problems));
  return problems;
}

TEST(KafkaConfigTest, ParsesAFullSourceConfig) {
  std::vector<std::string> problems;
  KafkaSourceConfig config = ParseSourceConfig(json::parse(R"({
    "brokers": "a:9092, b:9093", "topics": ["zeta", "alpha", "zeta"], "format": "bytes",
    "startFrom": {"timestamp": 1700000000000}, "bounded": true,
    "properties": {"fetch.min.bytes": 10, "check.crcs": true, "client.rack": "r1"}})"),
                                               &problems);
  EXPECT_TRUE(problems.empty()) << problems.front();
  EXPECT_EQ(config.brokers, "a:9092, b:9093");
  EXPECT_EQ(config.topics, (std::vector<std::string>{"alpha", "zeta"}));  // sorted, unique
  EXPECT_EQ(config.format, RecordFormat::kBytes);
  EXPECT_EQ(config.start.kind, StartKind::kTimestamp);
  EXPECT_EQ(config.start.timestamp_ms, 1700000000000);
  EXPECT_TRUE(config.bounded);
  EXPECT_EQ(config.properties,
            (std::map<std::string, std::string>{
                {"fetch.min.bytes", "10"}, {"check.crcs", "true"}, {"client.rack", "r1"}}));
}

TEST(KafkaConfigTest, SourceDefaultsAreStringFromEarliestUnbounded) {
  std::vector<std::string> problems;
  KafkaSourceConfig config =
      ParseSourceConfig(json::parse(R"({"brokers": "k:9092", "topics": ["t"]})"), &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(config.format, RecordFormat::kString);
  EXPECT_EQ(config.start.kind, StartKind::kEarliest);
  EXPECT_FALSE(config.bounded);
  EXPECT_TRUE(config.properties.empty());
}

TEST(KafkaConfigTest, ReportsEveryProblemOfASourceConfig) {
  auto problems = SourceProblems(R"({"format": "avro", "startFrom": "now", "bounded": 1,
                                     "topic": "t", "properties": {"bootstrap.servers": "x"}})");
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_EQ(problems.size(), 7u) << all;
  EXPECT_NE(all.find(": unknown config field \"topic\" for kind \"source.kafka\""),
            std::string::npos)
      << all;
  EXPECT_NE(all.find(": config field \"brokers\" is required"), std::string::npos) << all;
  EXPECT_NE(all.find(": config field \"topics\" is required"), std::string::npos) << all;
  EXPECT_NE(all.find("\"format\" must be one of \"string\", \"json\", \"bytes\", got \"avro\""),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("\"startFrom\" must be \"earliest\", \"latest\" or { \"timestamp\""),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("\"bounded\" must be a boolean, got 1"), std::string::npos) << all;
  EXPECT_NE(all.find("property \"bootstrap.servers\" is set by Sluice"), std::string::npos) << all;
}

TEST(KafkaConfigTest, ChecksBrokerListsAndTopicNames) {
  for (const char* ok :
       {"k", "k:1", "a:9092,b:9093", "PLAINTEXT://k:9092", "[::1]:9092", "10.0.0.1:65535"}) {
    EXPECT_TRUE(
        SourceProblems(std::string(R"({"brokers": ")") + ok + R"(", "topics": ["t"]})").empty())
        << ok;
  }
  for (const char* bad : {"", "k:", "k:0", "k:70000", "k:port", "a:1,,b:2", ":9092", "a b:1"}) {
    auto problems =
        SourceProblems(std::string(R"({"brokers": ")") + bad + R"(", "topics": ["t"]})");
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_NE(problems[0].find("config field \"brokers\" must be"), std::string::npos)
        << problems[0];
  }
  for (const char* bad : {R"([])", R"(["a b"])", R"([".."])", R"("t")", R"([7])"}) {
    auto problems = SourceProblems(std::string(R"({"brokers": "k:1", "topics": )") + bad + "}");
    ASSERT_EQ(problems.size(), 1u) << bad;
    EXPECT_NE(problems[0].find("config field \"topics\" must be a non-empty array of topic names"),
              std::string::npos)
        << problems[0];
  }
}

TEST(KafkaConfigTest, StartFromIsEarliestLatestOrATimestamp) {
  std::vector<std::string> problems;
  auto latest = ParseSourceConfig(
      json::parse(R"({"brokers": "k:1", "topics": ["t"], "startFrom": "latest"})"), &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(latest.start.kind, StartKind::kLatest);
  for (const char* bad : {R"({"timestamp": -1})", R"({"timestamp": 1.5})", R"({"timestamp": "1"})",
                          R"({"ts": 1})", R"({"timestamp": 1, "x": 2})", "5"}) {
    EXPECT_EQ(SourceProblems(std::string(R"({"brokers": "k:1", "topics": ["t"], "startFrom": )") +
                             bad + "}")
                  .size(),
              1u)
        << bad;
  }
}

TEST(KafkaConfigTest, ParsesAndChecksSinkConfigs) {
  std::vector<std::string> problems;
  auto config = ParseSinkConfig(
      json::parse(R"({"brokers": "k:9092", "topic": "out", "properties": {"acks": "1"}})"),
      &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(config.topic, "out");
  EXPECT_EQ(config.properties.at("acks"), "1");

  auto bad = SinkProblems(R"({"topic": "no/slash", "topics": ["x"],
                              "properties": {"transactional.id": "t", "linger.ms": null}})");
  std::string all;
  for (const auto& p : bad) all += p + "\n";
  EXPECT_EQ(bad.size(), 5u) << all;
  EXPECT_NE(all.find("\"brokers\" is required for kind \"sink.kafka\""), std::string::npos) << all;
  EXPECT_NE(all.find("\"topic\" must be a topic name"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown config field \"topics\""), std::string::npos) << all;
  EXPECT_NE(all.find("property \"transactional.id\" is set by Sluice"), std::string::npos) << all;
  EXPECT_NE(all.find("property \"linger.ms\" must be a string, number or boolean, got null"),
            std::string::npos)
      << all;
}

TEST(KafkaConfigTest, ReadsTheSinkGuaranteeAndCommitTopic) {
  std::vector<std::string> problems;
  auto defaults =
      ParseSinkConfig(json::parse(R"({"brokers": "k:9092", "topic": "out"})"), &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(defaults.guarantee, connectors::Guarantee::kAtLeastOnce);
  EXPECT_EQ(defaults.commit_topic, "sluice-commits");
  auto exact = ParseSinkConfig(json::parse(R"({"brokers": "k:9092", "topic": "out",
      "guarantee": "exactly-once", "commitTopic": "markers"})"),
                               &problems);
  EXPECT_TRUE(problems.empty());
  EXPECT_EQ(exact.guarantee, connectors::Guarantee::kExactlyOnce);
  EXPECT_EQ(exact.commit_topic, "markers");

  auto bad = SinkProblems(R"({"brokers": "k:9092", "topic": "out", "guarantee": "once",
                              "commitTopic": "a b"})");
  ASSERT_EQ(bad.size(), 2u);
  EXPECT_EQ(bad[0],
            ": config field \"commitTopic\" must be a topic name (1 to 249 characters of a-z, "
            "A-Z, 0-9, '.', '_' and '-'), got \"a b\"");
  EXPECT_EQ(bad[1],
            ": config field \"guarantee\" must be \"at-least-once\" or \"exactly-once\", got "
            "\"once\"");
}

TEST(KafkaConfigTest, FromJsonNamesTheOperatorAndJoinsTheProblems) {
  auto config = SinkConfigFromJson(R"({"topic": ""})", "operator 'out' (op3)");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(config.status().message().rfind("operator 'out' (op3): config field \"brokers\"", 0),
            0u)
      << config.status().message();
  EXPECT_NE(config.status().message().find("; config field \"topic\" must be"), std::string::npos);
  EXPECT_TRUE(SourceConfigFromJson(R"({"brokers":"k:1","topics":["t"]})", "x").ok());
}

TEST(KafkaAssignmentTest, DealsPartitionsRoundRobinByTopicThenPartition) {
  std::map<std::string, int32_t> topics{{"b", 2}, {"a", 3}};
  // Order: a[0] a[1] a[2] b[0] b[1].
  EXPECT_EQ(AssignPartitions(topics, 0, 2),
            (std::vector<TopicPartition>{{"a", 0}, {"a", 2}, {"b", 1}}));
  EXPECT_EQ(AssignPartitions(topics, 1, 2), (std::vector<TopicPartition>{{"a", 1}, {"b", 0}}));
  EXPECT_EQ(AssignPartitions(topics, 0, 1).size(), 5u);
}

TEST(KafkaAssignmentTest, EverySplitCoversEachPartitionExactlyOnce) {
  std::map<std::string, int32_t> topics{{"x", 7}, {"y", 1}, {"z", 4}};
  for (uint32_t parallelism = 1; parallelism <= 14; ++parallelism) {
    std::set<TopicPartition> seen;
    size_t total = 0;
    for (uint32_t s = 0; s < parallelism; ++s) {
      auto mine = AssignPartitions(topics, s, parallelism);
      EXPECT_LE(mine.size(), (12 + parallelism - 1) / parallelism);  // balanced
      EXPECT_EQ(mine, AssignPartitions(topics, s, parallelism));     // deterministic
      total += mine.size();
      seen.insert(mine.begin(), mine.end());
    }
    EXPECT_EQ(total, 12u);
    EXPECT_EQ(seen.size(), 12u);
  }
}

}  // namespace
}  // namespace sluice::kafka
