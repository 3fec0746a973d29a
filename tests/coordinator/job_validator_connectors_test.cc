// The validator's checks on connector sinks (sink.redis, sink.mysql, sink.kafka): their configs are
// checked by the connectors' own parsers, and every problem names the operator.
#include <gtest/gtest.h>

#include "coordinator/job_validator.h"
#include "coordinator/operator_kinds.h"
#include "worker/runtime/worker_io_kinds.h"
#include "tests/coordinator/spec_builder.h"
#include "tests/coordinator/validator_test_util.h"

namespace sluice::coordinator {
namespace {

using testing::Dump;
using testing::HasProblem;
using testing::SpecBuilder;
using testing::Validate;

proto::JobSpec SinkJob(const std::string& kind, const std::string& config,
                       const std::map<std::string, std::string>& functions = {
                           {"fn", "(r) => [r]"}}) {
  return SpecBuilder("j")
      .Op("src", "numbers", "source.generator")
      .Op("out", "store", kind, config, functions)
      .Edge("src", "out")
      .Build();
}

// A source's or sink's checks are its entry in the worker's registry, beside its factory: the
// catalogue copies them from there, and every source and sink kind has both.
TEST(JobValidatorConnectorsTest, SourcesAndSinksAreCheckedByTheirRegistryEntry) {
  const runtime::IoKinds& io = runtime::WorkerIoKinds();
  size_t io_kinds = 0;
  for (const OperatorKind& kind : OperatorKinds()) {
    if (kind.role == OperatorRole::kTransform) continue;
    ++io_kinds;
    const IoKindChecks* checks = nullptr;
    if (kind.role == OperatorRole::kSource) {
      ASSERT_NE(io.source(kind.name), nullptr) << kind.name;
      ASSERT_TRUE(io.source(kind.name)->make) << kind.name;
      checks = &io.source(kind.name)->checks;
    } else {
      ASSERT_NE(io.sink(kind.name), nullptr) << kind.name;
      ASSERT_TRUE(io.sink(kind.name)->make) << kind.name;
      checks = &io.sink(kind.name)->checks;
    }
    EXPECT_EQ(kind.check_config, checks->check_config) << kind.name;
    ASSERT_EQ(kind.config.size(), checks->config.size()) << kind.name;
    for (size_t i = 0; i < kind.config.size(); ++i) {
      EXPECT_EQ(kind.config[i].name, checks->config[i].name) << kind.name;
    }
    ASSERT_EQ(kind.functions.size(), checks->functions.size()) << kind.name;
  }
  EXPECT_EQ(io_kinds, io.kinds().size());
  EXPECT_NE(FindOperatorKind("sink.mysql")->check_config, nullptr);
  EXPECT_NE(FindOperatorKind("source.kafka")->check_config, nullptr);
}

TEST(JobValidatorConnectorsTest, AcceptsGoodRedisAndMySqlSinks) {
  for (const proto::JobSpec& spec : {
           SinkJob("sink.redis", R"j({"address": "127.0.0.1:6379", "database": 2})j"),
           SinkJob("sink.mysql", R"j({"host": "127.0.0.1", "user": "u", "database": "d",
                                    "statement": "INSERT INTO t VALUES (?, ?)"})j"),
       }) {
    auto problems = Validate(spec);
    EXPECT_TRUE(problems.empty()) << Dump(problems);
  }
}

TEST(JobValidatorConnectorsTest, ABadRedisAddressNamesTheOperatorAndTheField) {
  auto problems = Validate(SinkJob("sink.redis", R"j({"address": "localhost:port"})j"));
  ASSERT_EQ(problems.size(), 1u) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "out",
                         {"operator \"store\" (out): config field \"address\" must be host:port",
                          "\"localhost:port\""}))
      << Dump(problems);
}

TEST(JobValidatorConnectorsTest, RedisTlsIsRefusedWithTheReason) {
  auto problems = Validate(SinkJob("sink.redis", R"j({"address": "h:1", "tls": true})j"));
  EXPECT_TRUE(HasProblem(problems, "out", {"\"tls\" cannot be true", "hiredis"})) << Dump(problems);
}

TEST(JobValidatorConnectorsTest, MySqlProblemsAreAllReported) {
  auto problems = Validate(SinkJob("sink.mysql", R"j({"host": "h", "statement": "SELECT ?"})j"));
  EXPECT_TRUE(HasProblem(problems, "out", {"\"user\" is required"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "out", {"\"database\" is required"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "out", {"\"statement\" must be an INSERT"})) << Dump(problems);
  EXPECT_EQ(problems.size(), 3u) << Dump(problems);
}

TEST(JobValidatorConnectorsTest, ABadGuaranteeNamesTheOperatorAndTheField) {
  const std::string mysql_config = R"j({"host": "h", "user": "u", "database": "d",
      "statement": "INSERT INTO t VALUES (?)", "guarantee": "exactly_once"})j";
  auto mysql = Validate(SinkJob("sink.mysql", mysql_config));
  ASSERT_EQ(mysql.size(), 1u) << Dump(mysql);
  EXPECT_TRUE(HasProblem(mysql, "out",
                         {"operator \"store\" (out): config field \"guarantee\" must be "
                          "\"at-least-once\" or \"exactly-once\", got \"exactly_once\""}))
      << Dump(mysql);

  const std::string kafka_config = R"j({"brokers": "k:9092", "topic": "out",
      "guarantee": "twice", "commitTopic": "no/slash"})j";
  auto kafka = Validate(SinkJob("sink.kafka", kafka_config, {}));
  ASSERT_EQ(kafka.size(), 2u) << Dump(kafka);
  EXPECT_TRUE(HasProblem(kafka, "out",
                         {"operator \"store\" (out): config field \"guarantee\"", "got \"twice\""}))
      << Dump(kafka);
  EXPECT_TRUE(HasProblem(kafka, "out", {"config field \"commitTopic\" must be a topic name"}))
      << Dump(kafka);

  const std::string good =
      R"j({"brokers": "k:9092", "topic": "out", "guarantee": "exactly-once"})j";
  proto::JobSpec with_checkpoints = SinkJob("sink.kafka", good, {});
  with_checkpoints.set_checkpoint_interval_ms(1000);
  EXPECT_TRUE(Validate(with_checkpoints).empty());
  // Without checkpoints an exactly-once sink would never commit.
  auto without = Validate(SinkJob("sink.kafka", good, {}));
  ASSERT_EQ(without.size(), 1u) << Dump(without);
  EXPECT_TRUE(HasProblem(without, "out", {"operator \"store\" (out): guarantee \"exactly-once\"",
                                          "checkpointInterval"}))
      << Dump(without);
}

TEST(JobValidatorConnectorsTest, ConnectorSinksNeedTheirFunction) {
  auto problems = Validate(SinkJob("sink.redis", R"j({"address": "h:1"})j", {}));
  EXPECT_TRUE(HasProblem(problems, "out", {"kind \"sink.redis\" needs a function \"fn\""}))
      << Dump(problems);
}

}  // namespace
}  // namespace sluice::coordinator
