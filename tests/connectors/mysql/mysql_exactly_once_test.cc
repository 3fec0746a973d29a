// The exactly-once MySQL sink against a real MariaDB server: epochs are committed only when
// their checkpoint completed, and crashes, restores, rescales, a finished sink and lost
// connections neither lose nor repeat a row. The table has no key on the written values, so a
// row written twice shows up twice.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>

#include "connectors/mysql/mysql_sink.h"
#include "tests/connectors/fake_sleeper.h"
#include "tests/connectors/mysql/mariadb_server.h"
#include "tests/common/temp_dir.h"

namespace sluice::mysql {
namespace {

namespace fs = std::filesystem;
using connectors::testing::FakeSleeper;
using testing::MariaDbServer;

// The real client with faults injected into WriteEpoch: the connection lost before the
// transaction did anything, or right after it committed (the answer never came back).
class FaultyClient : public MySqlClient {
 public:
  explicit FaultyClient(std::unique_ptr<MySqlClient> real) : real_(std::move(real)) {}

  Status Connect() override {
    lost_ = false;
    return real_->Connect();
  }
  bool connected() const override { return !lost_ && real_->connected(); }
  Status WriteTransaction(std::span<const SqlRow> rows) override {
    return real_->WriteTransaction(rows);
  }
  Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) override {
    return real_->ReadMarkers(sink_ids);
  }
  Result<bool> WriteEpoch(const std::string& sink_id, uint64_t epoch,
                          std::span<const SqlRow> rows) override {
    if (lose_before > 0) {
      --lose_before;
      lost_ = true;
      return Status::Unavailable("connection lost at row 1 (injected)");
    }
    auto written = real_->WriteEpoch(sink_id, epoch, rows);
    if (written.ok() && *written) ++commits;
    if (written.ok() && lose_after_commit > 0) {
      --lose_after_commit;
      lost_ = true;
      return Status::Unavailable("connection lost at the commit (injected)");
    }
    return written;
  }

  int lose_before = 0;
  int lose_after_commit = 0;
  int commits = 0;  // transactions that went through

 private:
  std::unique_ptr<MySqlClient> real_;
  bool lost_ = false;
};

class MySqlExactlyOnceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string error;
    server_ = MariaDbServer::Start(&error).release();
    start_error_ = new std::string(error);
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete start_error_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr) << *start_error_;
    name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    table_ = "t_" + name_.substr(0, 40);
    server_->Query("CREATE TABLE " + table_ +
                   " (id INT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(32) NOT NULL, v INT)");
  }

  // Subtask `subtask` of the sink operator op5 of this test's job.
  std::unique_ptr<MySqlSink> MakeSink(uint32_t subtask = 0, FaultyClient** faulty = nullptr) {
    MySqlConfig config;
    config.host = "127.0.0.1";
    config.port = server_->port();
    config.user = MariaDbServer::kUser;
    config.password = MariaDbServer::kPassword;
    config.database = MariaDbServer::kDatabase;
    config.statement = "INSERT INTO " + table_ + " (k, v) VALUES (?, ?)";
    config.placeholders = 2;
    config.guarantee = connectors::Guarantee::kExactlyOnce;
    config.commit_table = commit_table_;
    auto client = std::make_unique<FaultyClient>(MakeConnectorClient(config));
    if (faulty != nullptr) *faulty = client.get();
    auto sleeper = std::make_unique<FakeSleeper>();
    sleepers_.push_back(sleeper.get());
    return std::make_unique<MySqlSink>(config, "operator 'db' (op5)",
                                       connectors::SinkId("job-" + name_, "op5", subtask),
                                       std::move(client), &health_, std::move(sleeper));
  }

  static js::BatchResult Batch(std::string lines) {
    js::BatchResult batch;
    batch.json_lines = std::move(lines);
    return batch;
  }
  // Writes one row per key, each with value `v`.
  static void WriteRows(MySqlSink& sink, const std::vector<std::string>& keys, int v) {
    std::string lines;
    for (const auto& key : keys) lines += "[\"" + key + "\"," + std::to_string(v) + "]\n";
    ASSERT_TRUE(sink.Write(Batch(lines)).ok());
  }
  std::string Prepare(MySqlSink& sink, uint64_t checkpoint, uint32_t subtask = 0) {
    auto prepared =
        sink.PrepareCommit(checkpoint, checkpoints_ + "/chk-" + std::to_string(checkpoint) +
                                           "/task" + std::to_string(subtask) + "/sink");
    EXPECT_TRUE(prepared.ok()) << prepared.status().message();
    return prepared.ok() ? *prepared : "";
  }

  // How many times each key was written.
  std::map<std::string, int> Counts() {
    std::map<std::string, int> counts;
    for (const auto& row : server_->Query("SELECT k, COUNT(*) FROM " + table_ + " GROUP BY k")) {
      counts[row.at(0)] = std::stoi(row.at(1));
    }
    return counts;
  }
  static std::map<std::string, int> Once(const std::vector<std::string>& keys) {
    std::map<std::string, int> counts;
    for (const auto& key : keys) counts[key] = 1;
    return counts;
  }
  std::string Marker(uint32_t subtask = 0) {
    auto rows = server_->Query("SELECT epoch FROM " + commit_table_ + " WHERE sink_id = '" +
                               connectors::SinkId("job-" + name_, "op5", subtask) + "'");
    return rows.empty() ? "none" : rows[0].at(0);
  }

  static MariaDbServer* server_;
  static std::string* start_error_;
  std::string name_;
  std::string table_;
  std::string commit_table_ = "sluice_commits";
  sluice::testing::TempDir temp_{"sluice-chk"};
  std::string checkpoints_ = temp_.str();
  runtime::ConnectorHealth health_;
  std::vector<FakeSleeper*> sleepers_;
};

MariaDbServer* MySqlExactlyOnceTest::server_ = nullptr;
std::string* MySqlExactlyOnceTest::start_error_ = nullptr;

TEST_F(MySqlExactlyOnceTest, CommitsEachEpochOnlyOnceItsCheckpointCompleted) {
  auto sink = MakeSink();
  WriteRows(*sink, {"a", "b"}, 1);
  Prepare(*sink, 1);
  WriteRows(*sink, {"c"}, 2);
  EXPECT_TRUE(Counts().empty()) << "nothing is written before checkpoint 1 completed";
  Prepare(*sink, 2);
  ASSERT_TRUE(sink->CommitCheckpoint(1).ok());
  EXPECT_EQ(Counts(), Once({"a", "b"}));
  EXPECT_EQ(Marker(), "1");
  WriteRows(*sink, {"d"}, 3);
  Prepare(*sink, 3);
  ASSERT_TRUE(sink->CommitCheckpoint(3).ok()) << "commits epochs 2 and 3";
  EXPECT_EQ(Counts(), Once({"a", "b", "c", "d"}));
  EXPECT_EQ(Marker(), "3");
  ASSERT_TRUE(sink->CommitCheckpoint(3).ok());
  EXPECT_EQ(Counts(), Once({"a", "b", "c", "d"}));
}

TEST_F(MySqlExactlyOnceTest, ACrashAfterPrepareIsCommittedByTheRestoredSink) {
  commit_table_ = "commits_crash";
  std::string prepared;
  {
    auto sink = MakeSink();
    WriteRows(*sink, {"a", "b"}, 1);
    Prepare(*sink, 1);
    WriteRows(*sink, {"c"}, 2);
    prepared = Prepare(*sink, 2);
    WriteRows(*sink, {"lost"}, 3);  // after the last barrier: replayed by the restored job
  }                                 // crashed before checkpoint 2's commit
  EXPECT_TRUE(Counts().empty());
  auto restored = MakeSink();
  ASSERT_TRUE(restored->Restore(2, {prepared}).ok());
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  EXPECT_EQ(Marker(), "2");
  WriteRows(*restored, {"e"}, 3);
  Prepare(*restored, 3);
  ASSERT_TRUE(restored->CommitCheckpoint(3).ok());
  EXPECT_EQ(Counts(), Once({"a", "b", "c", "e"}));
}

TEST_F(MySqlExactlyOnceTest, RestoringAfterTheCommitHappenedWritesNothingAgain) {
  std::string prepared;
  {
    auto sink = MakeSink();
    WriteRows(*sink, {"a", "b"}, 1);
    prepared = Prepare(*sink, 1);
    ASSERT_TRUE(sink->CommitCheckpoint(1).ok());
  }  // crashed after the commit, before anything else
  auto restored = MakeSink();
  ASSERT_TRUE(restored->Restore(1, {prepared}).ok());
  EXPECT_EQ(Counts(), Once({"a", "b"}));
}

TEST_F(MySqlExactlyOnceTest, RestoringTwiceFromTheSameCheckpointWritesOnce) {
  std::string prepared;
  {
    auto sink = MakeSink();
    WriteRows(*sink, {"a"}, 1);
    prepared = Prepare(*sink, 1);
  }
  {
    auto first = MakeSink();
    ASSERT_TRUE(first->Restore(1, {prepared}).ok());
    WriteRows(*first, {"b"}, 2);  // crashed again before checkpoint 2
  }
  auto second = MakeSink();
  ASSERT_TRUE(second->Restore(1, {prepared}).ok());
  WriteRows(*second, {"b"}, 2);
  Prepare(*second, 2);
  ASSERT_TRUE(second->CommitCheckpoint(2).ok());
  EXPECT_EQ(Counts(), Once({"a", "b"}));
}

TEST_F(MySqlExactlyOnceTest, ARescaledSinkCommitsWhatEachOldSubtaskLeftUnderItsOwnMarker) {
  std::string prepared0, prepared1;
  {
    auto old0 = MakeSink(0);
    auto old1 = MakeSink(1);
    WriteRows(*old0, {"a0", "b0"}, 1);
    WriteRows(*old1, {"a1"}, 1);
    prepared0 = Prepare(*old0, 4, 0);
    prepared1 = Prepare(*old1, 4, 1);
    ASSERT_TRUE(old0->CommitCheckpoint(4).ok());  // subtask 1 crashed before its commit
  }
  EXPECT_EQ(Counts(), Once({"a0", "b0"}));
  auto merged = MakeSink(0);  // parallelism 1 now: takes over both
  ASSERT_TRUE(merged->Restore(4, {prepared0, prepared1}).ok());
  EXPECT_EQ(Counts(), Once({"a0", "b0", "a1"}));
  EXPECT_EQ(Marker(0), "4");
  EXPECT_EQ(Marker(1), "4") << "old subtask 1's epoch is committed under its own marker";
  WriteRows(*merged, {"c"}, 5);
  Prepare(*merged, 5);
  ASSERT_TRUE(merged->CommitCheckpoint(5).ok());
  EXPECT_EQ(Counts(), Once({"a0", "b0", "a1", "c"}));
}

TEST_F(MySqlExactlyOnceTest, AFinishedSinkRestoredFromAnEarlierCheckpointWritesNothingTwice) {
  std::string prepared;
  {
    auto sink = MakeSink();
    WriteRows(*sink, {"a"}, 1);
    prepared = Prepare(*sink, 1);
    ASSERT_TRUE(sink->CommitCheckpoint(1).ok());
    WriteRows(*sink, {"b", "c"}, 2);
    ASSERT_TRUE(sink->Finish().ok());
  }  // the job finished; then another task failed and the job restarts from checkpoint 1
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  EXPECT_EQ(Marker(), "2");
  std::string again;
  {
    auto restored = MakeSink();
    ASSERT_TRUE(restored->Restore(1, {prepared}).ok());
    WriteRows(*restored, {"b", "c"}, 2);  // the same records, replayed
    again = Prepare(*restored, 7);
    ASSERT_TRUE(restored->CommitCheckpoint(7).ok());
  }  // and fails again after checkpoint 7
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  auto last = MakeSink();
  ASSERT_TRUE(last->Restore(7, {again}).ok());
  WriteRows(*last, {"c"}, 3);
  Prepare(*last, 8);
  ASSERT_TRUE(last->CommitCheckpoint(8).ok());
  ASSERT_TRUE(last->Finish().ok());
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
}

TEST_F(MySqlExactlyOnceTest, ALostConnectionDuringACommitNeitherLosesNorRepeatsAnEpoch) {
  FaultyClient* faulty = nullptr;
  auto sink = MakeSink(0, &faulty);
  WriteRows(*sink, {"a", "b"}, 1);
  Prepare(*sink, 1);
  WriteRows(*sink, {"c"}, 2);
  Prepare(*sink, 2);
  faulty->lose_before = 1;        // epoch 1: lost before anything was written
  faulty->lose_after_commit = 1;  // then lost right after epoch 1 committed
  ASSERT_TRUE(sink->CommitCheckpoint(2).ok());
  EXPECT_EQ(Counts(), Once({"a", "b", "c"}));
  EXPECT_EQ(faulty->commits, 2) << "the retry after the lost answer found the marker";
  EXPECT_EQ(sleepers_[0]->delays.size(), 2u);
  EXPECT_EQ(health_.problem(), "") << "healthy again once a commit got through";
  EXPECT_EQ(Marker(), "2");
}

TEST_F(MySqlExactlyOnceTest, ARowTheServerRefusesFailsTheCommitNamingTheOperator) {
  auto sink = MakeSink();
  ASSERT_TRUE(sink->Write(Batch("[\"a-key-much-longer-than-thirty-two-chars\",1]\n")).ok());
  Prepare(*sink, 1);
  Status status = sink->CommitCheckpoint(1);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message().rfind("operator 'db' (op5): mysql 127.0.0.1:", 0), 0u)
      << status.message();
  EXPECT_NE(status.message().find("refused row 1 of 1"), std::string::npos) << status.message();
  EXPECT_EQ(Marker(), "none") << "the marker row is rolled back with the rows";
}

TEST_F(MySqlExactlyOnceTest, ABadRowFailsTheWriteNotTheCommit) {
  auto sink = MakeSink();
  Status status = sink->Write(Batch("[\"a\"]\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  EXPECT_NE(status.message().find("operator 'db' (op5)"), std::string::npos);
}

}  // namespace
}  // namespace sluice::mysql
