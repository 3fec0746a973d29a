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

TEST(JobValidatorGraphTest, FanOutAndFanInAreAccepted) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("a", "alpha", "map", "", kFn)
                  .Op("b", "beta", "map", "", kFn)
                  .Op("u", "both", "union")
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "a")
                  .Edge("src", "b")
                  .Edge("a", "u")
                  .Edge("b", "u")
                  .Edge("u", "out")
                  .Build();
  EXPECT_TRUE(Validate(spec).empty()) << Dump(Validate(spec));
}

TEST(JobValidatorGraphTest, EveryPartitioningIsAcceptedAndParallelismMayChange) {
  for (auto partitioning : {proto::FORWARD, proto::REBALANCE, proto::BROADCAST}) {
    auto spec = SpecBuilder("j")
                    .Op("src", "numbers", "source.generator", "", {}, 2)
                    .Op("out", "results", "sink.collect", "", {}, 3)
                    .Edge("src", "out", partitioning)
                    .Build();
    EXPECT_TRUE(Validate(spec).empty()) << Dump(Validate(spec));
  }
}

TEST(JobValidatorGraphTest, HashEdgesNeedACompilingKeySelector) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("sum", "sums", "reduce", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "sum", proto::HASH)
                  .Edge("sum", "out")
                  .Build();
  auto problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "sum", {"\"sums\"", "partitioned by key", "no key selector"}))
      << Dump(problems);
  spec.mutable_edges(0)->set_key_fn("(r) => {");
  problems = ValidateJob(spec, [](const std::string& source) {
    return source == "(r) => {" ? Status::User("SyntaxError: Unexpected end of input")
                                : Status::Ok();
  });
  EXPECT_TRUE(HasProblem(problems, "sum", {"\"sums\"", "key selector", "SyntaxError"}))
      << Dump(problems);
  spec.mutable_edges(0)->set_key_fn("(r) => r % 10");
  EXPECT_TRUE(Validate(spec).empty()) << Dump(Validate(spec));
}

// keyBy(fn, { partitioned: true }): only on a HASH edge, and only between operators of one
// parallelism (an already partitioned stream stays on its subtasks).
TEST(JobValidatorGraphTest, AnAlreadyPartitionedEdgeIsKeyedAndKeepsItsParallelism) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("sum", "sums", "reduce", "", kFn)
                  .Op("top", "tops", "reduce", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "sum", proto::HASH)
                  .Edge("sum", "top", proto::HASH)
                  .Edge("top", "out")
                  .Parallelism(2)
                  .Build();
  spec.mutable_edges(0)->set_key_fn("(r) => r % 10");
  spec.mutable_edges(1)->set_key_fn("(r) => r % 10");
  spec.mutable_edges(1)->set_partitioned(true);
  EXPECT_TRUE(Validate(spec).empty()) << Dump(Validate(spec));

  auto uneven = spec;
  uneven.mutable_operators(2)->set_parallelism(3);
  auto problems = Validate(uneven);
  EXPECT_TRUE(HasProblem(problems, "top", {"\"tops\"", "edge #1 (sum -> top)",
                                           "already partitioned", "parallelisms differ (2 and 3)"}))
      << Dump(problems);

  auto unkeyed = spec;
  unkeyed.mutable_edges(2)->set_partitioned(true);
  problems = Validate(unkeyed);
  EXPECT_TRUE(HasProblem(problems, "out", {"edge #2 (top -> out)", "already partitioned",
                                           "not partitioned by key"}))
      << Dump(problems);
}

TEST(JobValidatorGraphTest, KeyedOperatorsNeedInputPartitionedByKey) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("sum", "sums", "reduce", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "sum")
                  .Edge("sum", "out")
                  .Build();
  auto problems = Validate(spec);
  ASSERT_EQ(problems.size(), 1u) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "sum", {"\"sums\"", "keyBy", "\"numbers\""}))
      << Dump(problems);
}

// The window offset rule is the worker's (windows.js, joins.js): a whole number of ms smaller in
// magnitude than the size (tumbling) or the slide (sliding); negative offsets are fine.
TEST(JobValidatorGraphTest, WindowOffsetsFollowTheWorkersRule) {
  auto job = [](const std::string& assigner) {
    return SpecBuilder()
        .Op("op1", "events", "source.generator", R"({"count": 10})")
        .Op("op2", "counts", "window",
            R"({"assigner": )" + assigner + R"(, "function": "count"})")
        .Op("op3", "out", "sink.collect")
        .Edge("op1", "op2", proto::HASH)
        .Edge("op2", "op3")
        .Build();
  };
  auto ok = Validate(job(R"({"type": "tumbling", "size": 10, "offset": -3})"));
  EXPECT_FALSE(HasProblem(ok, "op2", {"offset"})) << Dump(ok);
  auto too_big = Validate(job(R"({"type": "sliding", "size": 10, "slide": 5, "offset": 5})"));
  EXPECT_TRUE(HasProblem(too_big, "op2", {"\"offset\" (5) must be smaller in magnitude than the slide (5)"}))
      << Dump(too_big);
  auto fraction = Validate(job(R"({"type": "tumbling", "size": 10, "offset": 1.5})"));
  EXPECT_TRUE(HasProblem(fraction, "op2", {"\"offset\" must be a whole number of milliseconds, got 1.5"}))
      << Dump(fraction);
  auto session = Validate(job(R"({"type": "session", "gap": 10, "offset": 1})"));
  EXPECT_TRUE(HasProblem(session, "op2", {"a \"session\" window has no \"offset\""})) << Dump(session);
}

}  // namespace
}  // namespace sluice::coordinator
