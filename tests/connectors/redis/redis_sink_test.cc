#include "connectors/redis/redis_sink.h"

#include <gtest/gtest.h>

#include <deque>

#include "tests/connectors/fake_sleeper.h"
#include "tests/connectors/scripted_connection.h"

namespace sluice::redis {
namespace {

using connectors::testing::FakeSleeper;

// A scripted server: each Connect() and Pipeline() takes the next planned outcome (default:
// success), and every pipeline the "server" accepted is recorded.
class FakeRedisClient : public RedisClient, public connectors::testing::ScriptedConnection {
 public:
  Status Connect() override { return ScriptedConnect(); }
  bool connected() const override { return connected_; }
  Result<std::vector<RedisReply>> Pipeline(std::span<const RedisCommand> commands) override {
    Status status = Next(pipeline_outcomes);
    if (!status.ok()) {
      connected_ = false;
      return status;
    }
    pipelines.emplace_back(commands.begin(), commands.end());
    std::vector<RedisReply> replies(commands.size());
    for (size_t i = 0; i < commands.size(); ++i) {
      if (commands[i][0] == "BAD") replies[i] = {true, "ERR unknown command 'BAD'"};
      if (commands[i][0] == "SLOW" && busy_replies > 0) {
        --busy_replies;
        replies[i] = {true, "LOADING Redis is loading the dataset in memory"};
      }
    }
    return replies;
  }
  void Interrupt() override { interrupted = true; }

  std::deque<Status> pipeline_outcomes;
  std::vector<std::vector<RedisCommand>> pipelines;
  int busy_replies = 0;
  bool interrupted = false;
};

class RedisSinkTest : public ::testing::Test {
 protected:
  void Make(uint32_t pipeline = 1000) {
    RedisConfig config;
    config.address = {"127.0.0.1", 6390};
    config.pipeline = pipeline;
    auto client = std::make_unique<FakeRedisClient>();
    client_ = client.get();
    auto sleeper = std::make_unique<FakeSleeper>();
    sleeper_ = sleeper.get();
    sink_ = std::make_unique<RedisSink>(config, "operator 'out' (op4)", std::move(client), &health_,
                                        std::move(sleeper));
  }
  static js::BatchResult Batch(std::string lines) {
    js::BatchResult batch;
    batch.json_lines = std::move(lines);
    return batch;
  }

  runtime::ConnectorHealth health_;
  FakeRedisClient* client_ = nullptr;
  FakeSleeper* sleeper_ = nullptr;
  std::unique_ptr<RedisSink> sink_;
};

TEST_F(RedisSinkTest, SendsABatchInPipelinesOfTheConfiguredSize) {
  Make(/*pipeline=*/2);
  ASSERT_TRUE(
      sink_->Write(Batch("[\"SET\",\"a\",1]\n[\"SET\",\"b\",2]\n[\"SET\",\"c\",3]\n")).ok());
  ASSERT_EQ(client_->pipelines.size(), 2u);
  EXPECT_EQ(client_->pipelines[0],
            (std::vector<RedisCommand>{{"SET", "a", "1"}, {"SET", "b", "2"}}));
  EXPECT_EQ(client_->pipelines[1], (std::vector<RedisCommand>{{"SET", "c", "3"}}));
  EXPECT_EQ(client_->connects, 1);
  EXPECT_TRUE(sink_->Finish().ok());
}

TEST_F(RedisSinkTest, ReconnectsAndResendsTheWholePipelineWhenTheConnectionDrops) {
  Make();
  client_->pipeline_outcomes = {Status::Ok(), Status::Unavailable("connection lost (EOF)")};
  client_->connect_outcomes = {Status::Ok(), Status::Unavailable("unreachable (refused)"),
                               Status::Ok()};
  std::vector<std::string> problems;
  sleeper_->on_sleep = [&] { problems.push_back(health_.problem()); };
  ASSERT_TRUE(sink_->Write(Batch("[\"SET\",\"a\",1]\n")).ok());
  ASSERT_TRUE(sink_->Write(Batch("[\"SET\",\"b\",2]\n[\"SET\",\"c\",3]\n")).ok());
  // The second batch's pipeline failed, a reconnect was refused, then it went through whole.
  ASSERT_EQ(client_->pipelines.size(), 2u);
  EXPECT_EQ(client_->pipelines[1],
            (std::vector<RedisCommand>{{"SET", "b", "2"}, {"SET", "c", "3"}}));
  EXPECT_EQ(client_->connects, 3);
  EXPECT_EQ(problems,
            (std::vector<std::string>{
                "operator 'out' (op4): redis 127.0.0.1:6390: connection lost (EOF); retrying in "
                "100 ms",
                "operator 'out' (op4): redis 127.0.0.1:6390: unreachable (refused); retrying in "
                "200 ms"}));
  EXPECT_EQ(health_.problem(), "");
  EXPECT_EQ(health_.retries(), 2u);
}

TEST_F(RedisSinkTest, ARefusedCommandFailsWithTheServersErrorTheOperatorAndTheCommand) {
  Make();
  Status status = sink_->Write(Batch("[\"SET\",\"a\",1]\n[\"BAD\",\"x\"]\n"));
  ASSERT_FALSE(status.ok());
  EXPECT_FALSE(status.retryable());
  EXPECT_EQ(status.domain(), ErrorDomain::kExternal);
  EXPECT_EQ(status.message(),
            "operator 'out' (op4): redis 127.0.0.1:6390 refused the command BAD \"x\": ERR unknown "
            "command 'BAD'");
  EXPECT_TRUE(sleeper_->delays.empty());
}

TEST_F(RedisSinkTest, RetriesWhileTheServerIsLoading) {
  Make();
  client_->busy_replies = 2;
  ASSERT_TRUE(sink_->Write(Batch("[\"SLOW\",\"a\"]\n")).ok());
  EXPECT_EQ(client_->pipelines.size(), 3u);
  EXPECT_EQ(sleeper_->delays.size(), 2u);
}

TEST_F(RedisSinkTest, APermanentConnectFailureNamesTheOperatorAndEndpoint) {
  Make();
  client_->connect_outcomes = {Status::External("authentication failed: WRONGPASS invalid")};
  Status status = sink_->Write(Batch("[\"SET\",\"a\",1]\n"));
  EXPECT_EQ(status.message(),
            "operator 'out' (op4): redis 127.0.0.1:6390: authentication failed: WRONGPASS invalid");
}

TEST_F(RedisSinkTest, BadRecordsFailBeforeAnythingIsSent) {
  Make();
  Status status = sink_->Write(Batch("[\"SET\",\"a\",1]\n42\n"));
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  EXPECT_NE(status.message().find("operator 'out' (op4): the function must return a command"),
            std::string::npos);
  EXPECT_TRUE(client_->pipelines.empty());
}

TEST_F(RedisSinkTest, CancelStopsTheRetriesAndInterruptsTheClient) {
  Make();
  client_->connect_outcomes = {Status::Unavailable("down"), Status::Unavailable("down")};
  sleeper_->on_sleep = [&] { sink_->Cancel(); };
  Status status = sink_->Write(Batch("[\"SET\",\"a\",1]\n"));
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  EXPECT_TRUE(client_->interrupted);
  EXPECT_TRUE(client_->pipelines.empty());
}

TEST(RedisSinkFactoryTest, RefusesABadConfigNamingTheOperator) {
  runtime::SinkContext context;
  context.operator_label = "operator 'out' (op4)";
  auto sink = MakeRedisSink(R"({"address": "nohost:99999"})", context);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().message().rfind("operator 'out' (op4): config field \"address\"", 0), 0u)
      << sink.status().message();
}

TEST(IsTransientReplyErrorTest, KnowsTheNotNowErrors) {
  EXPECT_TRUE(IsTransientReplyError("LOADING Redis is loading the dataset in memory"));
  EXPECT_TRUE(IsTransientReplyError("BUSY Redis is busy running a script"));
  EXPECT_FALSE(IsTransientReplyError("ERR unknown command"));
  EXPECT_FALSE(IsTransientReplyError("BUSYKEY Target key name already exists."));
  EXPECT_FALSE(IsTransientReplyError("WRONGTYPE Operation against a key"));
}

}  // namespace
}  // namespace sluice::redis
