// The validator's checks on the job's graph: edges, shape, cycles, and what this version runs.
#include <gtest/gtest.h>

#include "coordinator/job_validator.h"
#include "tests/coordinator/spec_builder.h"
#include "tests/coordinator/validator_test_util.h"

namespace sluice::coordinator {
namespace {

using testing::Dump;
using testing::HasProblem;
using testing::LinearJob;
using testing::SpecBuilder;
using testing::Validate;

const std::map<std::string, std::string> kFn = {{"fn", "(r) => r"}};

TEST(JobValidatorGraphTest, DanglingEdgeNamesTheMissingOperatorAndTheEdge) {
  auto problems = Validate(LinearJob().Edge("op2", "ghost").Build());
  EXPECT_TRUE(
      HasProblem(problems, "op2",
                 {"\"double\"", "edge #2 (op2 -> ghost)", "operator \"ghost\"", "does not exist"}))
      << Dump(problems);
  problems = Validate(LinearJob().Edge("phantom", "op3").Build());
  EXPECT_TRUE(
      HasProblem(problems, "op3", {"edge #2 (phantom -> op3)", "\"phantom\"", "does not exist"}))
      << Dump(problems);
  problems = Validate(LinearJob().Edge("x", "y").Build());
  EXPECT_TRUE(HasProblem(problems, "", {"edge #2 (x -> y)", "\"x\"", "does not exist"}))
      << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "", {"edge #2 (x -> y)", "\"y\"", "does not exist"}))
      << Dump(problems);
}

TEST(JobValidatorGraphTest, RefusesSelfLoop) {
  auto problems = Validate(LinearJob().Edge("op2", "op2").Build());
  EXPECT_TRUE(HasProblem(problems, "op2", {"\"double\"", "connects the operator to itself"}))
      << Dump(problems);
}

TEST(JobValidatorGraphTest, ReportsCycleNamingItsOperators) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("a", "alpha", "map", "", kFn)
                  .Op("b", "beta", "map", "", kFn)
                  .Op("c", "gamma", "map", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "a")
                  .Edge("a", "b")
                  .Edge("b", "c")
                  .Edge("c", "a")
                  .Edge("c", "out")
                  .Build();
  auto problems = Validate(spec);
  EXPECT_TRUE(
      HasProblem(problems, "a", {"cycle", "\"alpha\" -> \"beta\" -> \"gamma\" -> \"alpha\""}))
      << Dump(problems);
  // Without the back edge the same job is fine: the cycle is what is refused.
  spec.mutable_edges()->DeleteSubrange(3, 1);
  EXPECT_TRUE(Validate(spec).empty()) << Dump(Validate(spec));
}

TEST(JobValidatorGraphTest, RequiresSourcesAndSinks) {
  auto problems = Validate(SpecBuilder("j").Op("a", "alpha", "map", "", kFn).Build());
  EXPECT_TRUE(HasProblem(problems, "", {"no source"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "", {"no sink"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "a", {"\"alpha\"", "has no input"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "a", {"\"alpha\"", "records go nowhere; add a sink"}))
      << Dump(problems);
}

TEST(JobValidatorGraphTest, RefusesOperatorWhoseRecordsGoNowhere) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("a", "alpha", "map", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "a")
                  .Build();
  auto problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "a", {"\"alpha\"", "its records go nowhere; add a sink"}))
      << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "out", {"\"results\"", "has no input"})) << Dump(problems);
  EXPECT_FALSE(HasProblem(problems, "src", {"no output"})) << Dump(problems);
}

TEST(JobValidatorGraphTest, RefusesInputsToSourcesAndOutputsFromSinks) {
  auto spec = SpecBuilder("j")
                  .Op("s1", "first", "source.generator")
                  .Op("s2", "second", "source.generator")
                  .Op("k1", "sink one", "sink.collect")
                  .Op("k2", "sink two", "sink.stdout")
                  .Edge("s1", "s2")
                  .Edge("s2", "k1")
                  .Edge("k1", "k2")
                  .Build();
  auto problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "s2", {"\"second\"", "is a source", "cannot have inputs"}))
      << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "k1", {"\"sink one\"", "is a sink", "cannot have outputs"}))
      << Dump(problems);
}

TEST(JobValidatorGraphTest, FanOutAndFanInAreNotSupportedYet) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("a", "alpha", "map", "", kFn)
                  .Op("b", "beta", "map", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "a")
                  .Edge("src", "b")
                  .Edge("a", "out")
                  .Edge("b", "out")
                  .Build();
  auto problems = Validate(spec);
  EXPECT_TRUE(HasProblem(
      problems, "src",
      {"\"numbers\"", "2 outputs", "\"alpha\", \"beta\"", "fan-out", "not supported yet"}))
      << Dump(problems);
  EXPECT_TRUE(
      HasProblem(problems, "out", {"\"results\"", "2 inputs", "fan-in", "not supported yet"}))
      << Dump(problems);
  EXPECT_EQ(problems.size(), 2u) << Dump(problems);
}

TEST(JobValidatorGraphTest, OnlyForwardPartitioningIsSupported) {
  for (auto partitioning : {proto::REBALANCE, proto::HASH, proto::BROADCAST}) {
    auto spec = SpecBuilder("j")
                    .Op("src", "numbers", "source.generator")
                    .Op("out", "results", "sink.collect")
                    .Edge("src", "out", partitioning)
                    .Build();
    auto problems = Validate(spec);
    ASSERT_EQ(problems.size(), 1u) << Dump(problems);
    EXPECT_TRUE(HasProblem(
        problems, "out",
        {"\"results\"", proto::Partitioning_Name(partitioning), "not supported yet", "FORWARD"}))
        << Dump(problems);
  }
  auto unspecified = SpecBuilder("j")
                         .Op("src", "numbers", "source.generator")
                         .Op("out", "results", "sink.collect")
                         .Edge("src", "out", proto::PARTITIONING_UNSPECIFIED)
                         .Build();
  EXPECT_TRUE(Validate(unspecified).empty());
}

TEST(JobValidatorGraphTest, ParallelismChangeAcrossAnEdgeIsNotSupportedYet) {
  auto spec = LinearJob().Parallelism(2).Build();
  EXPECT_TRUE(Validate(spec).empty());
  spec.mutable_operators(2)->set_parallelism(3);
  auto problems = Validate(spec);
  ASSERT_EQ(problems.size(), 1u) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op3",
                         {"\"results\"", "parallelism from 2", "to 3", "not supported yet"}))
      << Dump(problems);
  // Explicitly equal to the job's default is the same parallelism.
  spec.mutable_operators(2)->set_parallelism(2);
  EXPECT_TRUE(Validate(spec).empty());
}

}  // namespace
}  // namespace sluice::coordinator
