// The Kafka source's checkpoint positions: what Position() says, and sources restored from the
// positions of another parallelism read every message exactly once (mock cluster).
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

#include "connectors/kafka/kafka_positions.h"
#include "connectors/kafka/kafka_source.h"
#include "tests/connectors/kafka/mock_cluster.h"
#include "tests/worker/runtime/fake_chain.h"
#include "tests/worker/runtime/feed.h"

namespace sluice::kafka {
namespace {

using runtime::testing::FakeChain;
using testing::MockCluster;

constexpr char kLabel[] = "operator 'in' (op1)";

TEST(KafkaPositionsTest, MergesEveryOldSubtasksOffsetsTheGreaterWinning) {
  const std::string a = PositionJson({{{"in", 0}, KafkaOffset(7)}, {{"in", 2}, KafkaOffset(3)}});
  EXPECT_EQ(nlohmann::json::parse(a), nlohmann::json::parse(R"({"offsets": [
      {"topic": "in", "partition": 0, "offset": 7}, {"topic": "in", "partition": 2, "offset": 3}]})"));
  // A subtask that had not connected reports the (older) offsets it was restored from.
  const std::string b = PositionJson({{{"in", 1}, KafkaOffset(9)}, {{"in", 2}, KafkaOffset(1)}});
  auto merged = MergePositions({a, b, PositionJson({})}, kLabel);
  ASSERT_TRUE(merged.ok()) << merged.status().message();
  EXPECT_EQ(*merged, (PartitionOffsets{{{"in", 0}, KafkaOffset(7)},
                                       {{"in", 1}, KafkaOffset(9)},
                                       {{"in", 2}, KafkaOffset(3)}}));
}

TEST(KafkaPositionsTest, AMalformedPositionIsAUserErrorNamingTheOperator) {
  for (const char* bad : {"", "{}", R"({"offsets": [{"topic": "in", "partition": 0}]})",
                          R"({"offsets": [{"topic": "in", "partition": -1, "offset": 0}]})",
                          R"({"next": 4, "subtask": 0, "parallelism": 1})"}) {
    auto merged = MergePositions({PositionJson({}), bad}, kLabel);
    ASSERT_FALSE(merged.ok()) << bad;
    EXPECT_EQ(merged.status().domain(), ErrorDomain::kUser);
    EXPECT_EQ(merged.status().message().rfind(std::string(kLabel) +
                                                  ": cannot restore the source's position: "
                                                  "position 1 of the checkpoint ",
                                              0),
              0u)
        << merged.status().message();
  }
}

class KafkaCheckpointTest : public ::testing::Test {
 protected:
  static constexpr int kPartitions = 4;
  static constexpr int kPerPartition = 25;

  void SetUp() override {
    cluster_.CreateTopic("in", kPartitions);
    for (int i = 0; i < kPerPartition; ++i) {
      for (int p = 0; p < kPartitions; ++p) {
        cluster_.Produce("in", p, std::nullopt, std::to_string(p) + "-" + std::to_string(i));
      }
    }
    cluster_.Flush();
  }

  std::unique_ptr<runtime::SourceDriver> Make(uint32_t subtask, uint32_t parallelism,
                                              std::vector<std::string> positions,
                                              const std::string& extra = "") {
    runtime::SourceContext context{kLabel, subtask, parallelism, &cancel_, /*batch_size=*/3};
    context.restore_positions = std::move(positions);
    auto source = MakeKafkaSource(R"({"brokers": ")" + cluster_.bootstrap() +
                                      R"(", "topics": ["in"], "bounded": true)" + extra + "}",
                                  context);
    EXPECT_TRUE(source.ok()) << source.status().message();
    return source.ok() ? std::move(source).value() : nullptr;
  }

  // Runs `batches` Next() calls (to the end when negative), counting each record.
  void Run(runtime::SourceDriver& source, int batches) {
    FakeChain chain;
    runtime::testing::Feed feed(chain);
    for (int i = 0; batches < 0 || i < batches; ++i) {
      auto batch = feed.Next(source);
      ASSERT_TRUE(batch.ok()) << batch.status().message();
      if (!batch->has_value()) break;
    }
    for (const std::string& text : chain.texts) {
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        ++seen_[text.substr(start, end - start)];
        start = end + 1;
      }
    }
  }

  void ExpectEachOnce() {
    EXPECT_EQ(seen_.size(), static_cast<size_t>(kPartitions * kPerPartition));
    for (const auto& [record, times] : seen_) EXPECT_EQ(times, 1) << record;
  }

  // Old sources at `from` read a few batches each, are checkpointed, and sources at `to`
  // restored from those positions read to the end.
  void Rescale(uint32_t from, uint32_t to) {
    std::vector<std::string> positions;
    for (uint32_t s = 0; s < from; ++s) {
      auto source = Make(s, from, {});
      ASSERT_NE(source, nullptr);
      Run(*source, 2 + 3 * static_cast<int>(s));
      positions.push_back(source->Position());
    }
    for (uint32_t s = 0; s < to; ++s) {
      auto source = Make(s, to, positions);
      ASSERT_NE(source, nullptr);
      Run(*source, -1);
    }
    ExpectEachOnce();
  }

  MockCluster cluster_;
  runtime::CancelSignal cancel_;
  std::map<std::string, int> seen_;
};

TEST_F(KafkaCheckpointTest, RestoredFromTwoSubtasksIntoThreeReadsEveryMessageOnce) {
  Rescale(2, 3);
}

TEST_F(KafkaCheckpointTest, RestoredFromThreeSubtasksIntoTwoReadsEveryMessageOnce) {
  Rescale(3, 2);
}

TEST_F(KafkaCheckpointTest, PositionIsTheNextOffsetOfEachAssignedPartition) {
  auto source = Make(1, 2, {});
  Run(*source, -1);
  // Subtask 1 of 2 reads partitions 1 and 3, to their ends.
  EXPECT_EQ(nlohmann::json::parse(source->Position()), nlohmann::json::parse(R"({"offsets": [
      {"topic": "in", "partition": 1, "offset": 25}, {"topic": "in", "partition": 3, "offset": 25}]})"));
}

TEST_F(KafkaCheckpointTest, BeforeConnectingThePositionIsWhereItWasRestoredTo) {
  const std::string restored =
      PositionJson({{{"in", 0}, KafkaOffset(5)}, {{"in", 1}, KafkaOffset(6)}});
  auto source = Make(0, 1, {restored});
  EXPECT_EQ(nlohmann::json::parse(source->Position()), nlohmann::json::parse(restored));
}

TEST_F(KafkaCheckpointTest, PartitionsWithoutAStoredOffsetStartAsConfigured) {
  // Only partitions 0 and 1 are in the checkpoint; 2 and 3 start from "latest": nothing.
  auto source =
      Make(0, 1, {PositionJson({{{"in", 0}, KafkaOffset(20)}, {{"in", 1}, KafkaOffset(24)}})},
           R"(, "startFrom": "latest")");
  Run(*source, -1);
  std::map<std::string, int> expected;
  for (int i = 20; i < kPerPartition; ++i) expected["\"0-" + std::to_string(i) + "\""] = 1;
  expected["\"1-24\""] = 1;
  EXPECT_EQ(seen_, expected);
}

}  // namespace
}  // namespace sluice::kafka
