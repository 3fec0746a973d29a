// The exactly-once Kafka sink against librdkafka's mock cluster: each epoch is one transaction
// with its marker in the commit topic, written only once its checkpoint completed; crashes,
// restores, rescales, a finished sink and a broker outage neither lose nor repeat a message.
// Everything is read back with a read_committed consumer. (The mock accepts the transactional
// API but does not keep aborted or open transactions from readers: what is checked here is
// that nothing is produced twice, not Kafka's own atomicity.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <thread>

#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_sink_markers.h"
#include "tests/connectors/kafka/mock_cluster.h"
#include "tests/common/temp_dir.h"

namespace sluice::kafka {
namespace {

namespace fs = std::filesystem;
using testing::MockCluster;

constexpr char kLabel[] = "operator 'out' (op3)";
// Kafka protocol API keys (librdkafka's RD_KAFKAP_* are internal).
constexpr int16_t kProduceApi = 0;
constexpr int16_t kAddPartitionsToTxnApi = 24;

class KafkaExactlyOnceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_.CreateTopic("out", 2);
    cluster_.CreateTopic("sluice-commits", 1);
  }

  std::unique_ptr<KafkaSink> MakeSink(uint32_t subtask = 0, const std::string& job = "job1") {
    auto config = SinkConfigFromJson(R"({"brokers": ")" + cluster_.bootstrap() +
                                         R"(", "topic": "out", "guarantee": "exactly-once"})",
                                     kLabel);
    EXPECT_TRUE(config.ok()) << config.status().message();
    runtime::SinkContext context;
    context.job = JobId(job);
    context.operator_id = "op3";
    context.subtask = subtask;
    context.operator_label = kLabel;
    context.health = &health_;
    auto sink = KafkaSink::Create(
        std::move(config).value(), context,
        connectors::Backoff{std::chrono::milliseconds(20), std::chrono::milliseconds(200)});
    EXPECT_TRUE(sink.ok()) << sink.status().message();
    return std::move(sink).value();
  }

  // One message per value, keyed by it, to partition `p`.
  static void Write(KafkaSink& sink, const std::vector<std::string>& values, int p = 0) {
    std::string lines;
    for (const auto& v : values) {
      lines += "{\"k\":\"" + v + "\",\"v\":\"" + v + "\",\"p\":" + std::to_string(p) + "}\n";
    }
    js::BatchResult batch;
    batch.json_lines = lines;
    Status status = sink.Write(batch);
    ASSERT_TRUE(status.ok()) << status.message();
  }
  std::string Prepare(KafkaSink& sink, uint64_t checkpoint, uint32_t subtask = 0) {
    auto prepared =
        sink.PrepareCommit(checkpoint, checkpoints_ + "/chk-" + std::to_string(checkpoint) + "/t" +
                                           std::to_string(subtask) + "/sink");
    EXPECT_TRUE(prepared.ok()) << prepared.status().message();
    return prepared.ok() ? *prepared : "";
  }
  static void Commit(KafkaSink& sink, uint64_t checkpoint) {
    Status status = sink.CommitCheckpoint(checkpoint);
    ASSERT_TRUE(status.ok()) << status.message();
  }

  // How many times each value is in "out", read with a read_committed consumer.
  std::map<std::string, int> Counts() {
    std::map<std::string, int> counts;
    for (const auto& message : cluster_.ReadAll("out", 2)) ++counts[message.value.value_or("")];
    return counts;
  }
  static std::map<std::string, int> Once(const std::vector<std::string>& values) {
    std::map<std::string, int> counts;
    for (const auto& v : values) counts[v] = 1;
    return counts;
  }
  // The markers in the commit topic, in order: "<sink id>=<epoch>".
  std::vector<std::string> Markers() {
    std::vector<std::string> markers;
    for (const auto& message : cluster_.ReadAll("sluice-commits", 1)) {
      markers.push_back(message.key.value_or("?") + "=" + message.value.value_or("?"));
    }
    return markers;
  }

  MockCluster cluster_;
  runtime::ConnectorHealth health_;
  sluice::testing::TempDir temp_{"sluice-chk"};
  std::string checkpoints_ = temp_.str();
};

TEST_F(KafkaExactlyOnceTest, CommitsEachEpochAsATransactionOnceItsCheckpointCompleted) {
  auto sink = MakeSink();
  Write(*sink, {"a", "b"});
  Prepare(*sink, 1);
  Write(*sink, {"c"}, 1);
  Prepare(*sink, 2);
  Write(*sink, {"d"});
  EXPECT_TRUE(Counts().empty()) << "nothing is produced before a checkpoint completed";
  Commit(*sink, 1);
  EXPECT_EQ(Counts(), Once({"a", "b"}));
  Prepare(*sink, 3);
  Commit(*sink, 3);
  EXPECT_EQ(Counts(), Once({"a", "b", "c", "d"}));
  EXPECT_EQ(Markers(), (std::vector<std::string>{"job1/op3/0=1", "job1/op3/0=2", "job1/op3/0=3"}));
  EXPECT_EQ(sink->commits(), 3u);
  EXPECT_EQ(sink->delivered(), 4u);
}

TEST_F(KafkaExactlyOnceTest, ACrashAfterPrepareIsCommittedByTheRestoredSink) {
  std::string prepared;
  {
    auto sink = MakeSink();
    Write(*sink, {"a"});
    Prepare(*sink, 1);
    Write(*sink, {"b"}, 1);
    prepared = Prepare(*sink, 2);
    Write(*sink, {"replayed"});
  }  // crashed before checkpoint 2's commit
  EXPECT_TRUE(Counts().empty());
  auto restored = MakeSink();
  ASSERT_TRUE(restored->Restore(2, {prepared}).ok());
  EXPECT_EQ(Counts(), Once({"a", "b"}));
  Write(*restored, {"c"});
  Prepare(*restored, 3);
  Commit(*restored, 3);
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
}

TEST_F(KafkaExactlyOnceTest, RestoringAfterTheCommitHappenedProducesNothingAgain) {
  std::string prepared;
  {
    auto sink = MakeSink();
    Write(*sink, {"a", "b"});
    prepared = Prepare(*sink, 1);
    Commit(*sink, 1);
  }
  auto restored = MakeSink();
  ASSERT_TRUE(restored->Restore(1, {prepared}).ok());
  EXPECT_EQ(restored->commits(), 0u);
  EXPECT_EQ(Counts(), Once({"a", "b"}));
}

TEST_F(KafkaExactlyOnceTest, RestoringTwiceFromTheSameCheckpointProducesOnce) {
  std::string prepared;
  {
    auto sink = MakeSink();
    Write(*sink, {"a"});
    prepared = Prepare(*sink, 1);
  }
  {
    auto first = MakeSink();
    ASSERT_TRUE(first->Restore(1, {prepared}).ok());
    Write(*first, {"b"});
  }
  auto second = MakeSink();
  ASSERT_TRUE(second->Restore(1, {prepared}).ok());
  Write(*second, {"b"});
  Prepare(*second, 2);
  Commit(*second, 2);
  EXPECT_EQ(Counts(), Once({"a", "b"}));
}

TEST_F(KafkaExactlyOnceTest, ARescaledSinkCommitsWhatEachOldSubtaskLeftUnderItsOwnMarker) {
  std::string prepared0, prepared1;
  {
    auto old0 = MakeSink(0);
    auto old1 = MakeSink(1);
    Write(*old0, {"a0", "b0"});
    Write(*old1, {"a1"}, 1);
    prepared0 = Prepare(*old0, 4, 0);
    prepared1 = Prepare(*old1, 4, 1);
    Commit(*old0, 4);  // subtask 1 crashed before its commit
  }
  EXPECT_EQ(Counts(), Once({"a0", "b0"}));
  auto merged = MakeSink(0);
  ASSERT_TRUE(merged->Restore(4, {prepared0, prepared1}).ok());
  EXPECT_EQ(Counts(), Once({"a0", "b0", "a1"}));
  EXPECT_EQ(Markers(), (std::vector<std::string>{"job1/op3/0=4", "job1/op3/1=4"}));
  Write(*merged, {"c"});
  Prepare(*merged, 5);
  Commit(*merged, 5);
  EXPECT_EQ(Counts(), Once({"a0", "b0", "a1", "c"}));
}

TEST_F(KafkaExactlyOnceTest, AFinishedSinkRestoredFromAnEarlierCheckpointProducesNothingTwice) {
  std::string prepared;
  {
    auto sink = MakeSink();
    Write(*sink, {"a"});
    prepared = Prepare(*sink, 1);
    Commit(*sink, 1);
    Write(*sink, {"b", "c"});
    ASSERT_TRUE(sink->Finish().ok());
  }
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  std::string again;
  {
    auto restored = MakeSink();
    ASSERT_TRUE(restored->Restore(1, {prepared}).ok());
    Write(*restored, {"b", "c"});
    again = Prepare(*restored, 6);
    Commit(*restored, 6);
  }
  auto last = MakeSink();
  ASSERT_TRUE(last->Restore(6, {again}).ok());
  Write(*last, {"c"});
  ASSERT_TRUE(last->Finish().ok());
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  EXPECT_EQ(Markers(), (std::vector<std::string>{"job1/op3/0=1", "job1/op3/0=2"}));
}

TEST_F(KafkaExactlyOnceTest, AJobRestartedWithoutACheckpointAfterTheSinkFinishedDropsTheReplay) {
  {
    auto sink = MakeSink();
    Write(*sink, {"a"});
    ASSERT_TRUE(sink->Finish().ok());
  }
  auto again = MakeSink();  // no checkpoint to restore from: the job starts over
  Write(*again, {"a"});
  EXPECT_EQ(Prepare(*again, 1), R"({"finished":true,"sink":"job1/op3/0"})");
  ASSERT_TRUE(again->Finish().ok());
  EXPECT_EQ(Counts(), Once({"a"}));
  auto other_job = MakeSink(0, "job2");  // a new job has its own markers
  Write(*other_job, {"x"});
  ASSERT_TRUE(other_job->Finish().ok());
  EXPECT_EQ(Counts(), Once({"a", "x"}));
}

TEST_F(KafkaExactlyOnceTest, ABrokerOutageDuringACommitNeitherLosesNorRepeatsAnEpoch) {
  auto sink = MakeSink();
  Write(*sink, {"a", "b"});
  Prepare(*sink, 1);
  Commit(*sink, 1);  // the producer is up and has its transactional id
  Write(*sink, {"c"}, 1);
  Prepare(*sink, 2);
  cluster_.SetDown(true);
  auto commit = std::async(std::launch::async, [&] { return sink->CommitCheckpoint(2); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (health_.problem().empty() && std::chrono::steady_clock::now() < deadline) {
    ASSERT_NE(commit.wait_for(std::chrono::milliseconds(20)), std::future_status::ready)
        << "the commit cannot finish while every broker is down";
  }
  EXPECT_NE(health_.problem().find("operator 'out' (op3): kafka "), std::string::npos)
      << health_.problem();
  cluster_.SetDown(false);
  ASSERT_EQ(commit.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  Status status = commit.get();
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  EXPECT_EQ(Markers(), (std::vector<std::string>{"job1/op3/0=1", "job1/op3/0=2"}));
}

TEST_F(KafkaExactlyOnceTest, ATransactionThatFailedIsAbortedAndWrittenAgain) {
  auto sink = MakeSink();
  Write(*sink, {"a"});
  Prepare(*sink, 1);
  Commit(*sink, 1);
  Write(*sink, {"b", "c"}, 1);
  Prepare(*sink, 2);
  // The transaction coordinator forgot the producer: the transaction can only be aborted.
  cluster_.FailRequests(kAddPartitionsToTxnApi, {RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID});
  Commit(*sink, 2);
  EXPECT_EQ(sink->aborts(), 1u);
  EXPECT_EQ(sink->commits(), 2u);
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  EXPECT_EQ(Markers(), (std::vector<std::string>{"job1/op3/0=1", "job1/op3/0=2"}));
}

TEST_F(KafkaExactlyOnceTest, AMessageTheBrokersRefuseFailsTheCommitNamingTheOperator) {
  auto sink = MakeSink();
  Write(*sink, {"a"});
  Prepare(*sink, 1);
  cluster_.FailRequests(kProduceApi, {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED});
  Status status = sink->CommitCheckpoint(1);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind(std::string(kLabel) + ": kafka ", 0), 0u) << status.message();
  EXPECT_NE(status.message().find("was not delivered"), std::string::npos) << status.message();
  EXPECT_EQ(sink->commits(), 0u);
}

TEST_F(KafkaExactlyOnceTest, ABadLineFailsTheWriteNamingTheOperator) {
  auto sink = MakeSink();
  js::BatchResult batch;
  batch.json_lines = "{\"v\": 1, \"p\": -2}\n";
  Status status = sink->Write(batch);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind(kLabel, 0), 0u) << status.message();
}

TEST(KafkaSinkMarkersTest, TransactionalIdsKeepToSafeCharacters) {
  EXPECT_EQ(TransactionalId("job-1/op3/2"), "sluice-job-1.op3.2");
  EXPECT_EQ(TransactionalId("j b/op:3/0"), "sluice-j_b.op_3.0");
}

}  // namespace
}  // namespace sluice::kafka
