// The validator's checks on connector sinks (sink.redis, sink.mysql): their configs are checked
// by the connectors' own parsers, and every problem names the operator.
#include <gtest/gtest.h>

#include "coordinator/job_validator.h"
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

TEST(JobValidatorConnectorsTest, ConnectorSinksNeedTheirFunction) {
  auto problems = Validate(SinkJob("sink.redis", R"j({"address": "h:1"})j", {}));
  EXPECT_TRUE(HasProblem(problems, "out", {"kind \"sink.redis\" needs a function \"fn\""}))
      << Dump(problems);
}

}  // namespace
}  // namespace sluice::coordinator
