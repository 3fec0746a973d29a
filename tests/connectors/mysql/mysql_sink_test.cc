#include "connectors/mysql/mysql_sink.h"

#include <gtest/gtest.h>

#include <deque>

#include "tests/connectors/fake_sleeper.h"
#include "tests/connectors/scripted_connection.h"

namespace sluice::mysql {
namespace {

using connectors::testing::FakeSleeper;

// A scripted server: each Connect() and WriteTransaction() takes the next planned outcome
// (default: success); committed transactions are recorded.
class FakeMySqlClient : public MySqlClient, public connectors::testing::ScriptedConnection {
 public:
  Status Connect() override { return ScriptedConnect(); }
  bool connected() const override { return connected_; }
  Status WriteTransaction(std::span<const SqlRow> rows) override {
    ++attempts;
    Status status = Next(write_outcomes);
    if (status.retryable()) connected_ = false;
    if (status.ok()) committed.emplace_back(rows.begin(), rows.end());
    return status;
  }
  Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) override {
    std::map<std::string, uint64_t> found;
    for (const auto& id : sink_ids) {
      if (markers.count(id) != 0) found[id] = markers[id];
    }
    return found;
  }
  Result<bool> WriteEpoch(const std::string& sink_id, uint64_t epoch,
                          std::span<const SqlRow> rows) override {
    if (markers[sink_id] >= epoch) return false;
    SLUICE_RETURN_IF_ERROR(WriteTransaction(rows));
    markers[sink_id] = epoch;
    return true;
  }

  std::deque<Status> write_outcomes;
  std::vector<std::vector<SqlRow>> committed;
  std::map<std::string, uint64_t> markers;
  int attempts = 0;
};

class MySqlSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MySqlConfig config;
    config.host = "127.0.0.1";
    config.port = 3399;
    config.statement = "INSERT INTO t (k, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)";
    config.placeholders = 2;
    auto client = std::make_unique<FakeMySqlClient>();
    client_ = client.get();
    auto sleeper = std::make_unique<FakeSleeper>();
    sleeper_ = sleeper.get();
    sink_ = std::make_unique<MySqlSink>(config, "operator 'db' (op5)", "job1/op5/0",
                                        std::move(client), &health_, std::move(sleeper));
  }
  static js::BatchResult Batch(std::string lines) {
    js::BatchResult batch;
    batch.json_lines = std::move(lines);
    return batch;
  }

  runtime::ConnectorHealth health_;
  FakeMySqlClient* client_ = nullptr;
  FakeSleeper* sleeper_ = nullptr;
  std::unique_ptr<MySqlSink> sink_;
};

TEST_F(MySqlSinkTest, CommitsEachBatchAsOneTransaction) {
  ASSERT_TRUE(sink_->Write(Batch("[\"a\",1]\n[\"b\",2]\n")).ok());
  ASSERT_TRUE(sink_->Write(Batch("[\"c\",3]\nnull\n")).ok());
  ASSERT_EQ(client_->committed.size(), 2u);
  EXPECT_EQ(client_->committed[0].size(), 2u);
  EXPECT_EQ(client_->committed[1].size(), 1u);
  EXPECT_EQ(std::get<std::string>(client_->committed[1][0][0]), "c");
  EXPECT_EQ(client_->connects, 1);
  EXPECT_TRUE(sink_->Finish().ok());
}

TEST_F(MySqlSinkTest, WritesTheWholeTransactionAgainAfterTheServerWentAway) {
  client_->write_outcomes = {Status::Unavailable("connection lost at row 2 of 2: gone")};
  client_->connect_outcomes = {Status::Ok(), Status::Unavailable("unreachable: refused"),
                               Status::Ok()};
  std::vector<std::string> problems;
  sleeper_->on_sleep = [&] { problems.push_back(health_.problem()); };
  ASSERT_TRUE(sink_->Write(Batch("[\"a\",1]\n[\"b\",2]\n")).ok());
  ASSERT_EQ(client_->committed.size(), 1u);
  EXPECT_EQ(client_->committed[0].size(), 2u) << "both rows again, not just the failed one";
  EXPECT_EQ(client_->connects, 3);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0],
            "operator 'db' (op5): mysql 127.0.0.1:3399: connection lost at row 2 of 2: gone; "
            "retrying in 100 ms");
  EXPECT_EQ(health_.problem(), "");
}

TEST_F(MySqlSinkTest, ARefusedRowFailsNamingOperatorEndpointAndStatement) {
  client_->write_outcomes = {
      Status::External("refused row 1 of 1 [\"a\",1]: Data too long (error 1406, SQLSTATE 22001)")};
  Status status = sink_->Write(Batch("[\"a\",1]\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "operator 'db' (op5): mysql 127.0.0.1:3399, statement `INSERT INTO t (k, v) VALUES (?, "
            "?) ON DUPLICATE KEY UPDATE v = VALUES(v)`: refused row 1 of 1 [\"a\",1]: Data too "
            "long (error 1406, SQLSTATE 22001)");
  EXPECT_TRUE(sleeper_->delays.empty());
}

TEST_F(MySqlSinkTest, BadRowsFailBeforeAnythingIsWritten) {
  Status status = sink_->Write(Batch("[\"a\"]\n"));
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  EXPECT_NE(status.message().find("operator 'db' (op5): the function returned 1 values, but the "
                                  "statement has 2"),
            std::string::npos);
  EXPECT_EQ(client_->attempts, 0);
}

TEST_F(MySqlSinkTest, CancelStopsTheRetries) {
  client_->connect_outcomes = {Status::Unavailable("down"), Status::Unavailable("down")};
  sleeper_->on_sleep = [&] { sink_->Cancel(); };
  Status status = sink_->Write(Batch("[\"a\",1]\n"));
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_TRUE(client_->committed.empty());
}

TEST(IsTransientSqlErrorTest, ConnectionLossAndLockConflictsAreTransient) {
  EXPECT_TRUE(IsTransientSqlError(2013, "HY000"));   // lost connection during query
  EXPECT_TRUE(IsTransientSqlError(2006, "HY000"));   // server has gone away
  EXPECT_TRUE(IsTransientSqlError(2002, "HY000"));   // cannot connect
  EXPECT_TRUE(IsTransientSqlError(1213, "40001"));   // deadlock
  EXPECT_TRUE(IsTransientSqlError(0, "08S01"));      // communication link failure
  EXPECT_FALSE(IsTransientSqlError(1045, "28000"));  // access denied
  EXPECT_FALSE(IsTransientSqlError(1146, "42S02"));  // no such table
  EXPECT_FALSE(IsTransientSqlError(1406, "22001"));  // data too long
}

TEST(MySqlSinkFactoryTest, RefusesABadConfigNamingTheOperator) {
  runtime::SinkContext context;
  context.operator_label = "operator 'db' (op5)";
  auto sink = MakeMySqlSink(R"({"host": "h", "user": "u", "database": "d"})", context);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().message(),
            "operator 'db' (op5): config field \"statement\" is required for kind \"sink.mysql\"");
}

}  // namespace
}  // namespace sluice::mysql
