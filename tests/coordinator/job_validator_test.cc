// The validator's checks on the job, its operators, their config and their functions.
#include "coordinator/job_validator.h"

#include <gtest/gtest.h>

#include "tests/coordinator/spec_builder.h"
#include "tests/coordinator/validator_test_util.h"

namespace sluice::coordinator {
namespace {

using testing::Dump;
using testing::HasProblem;
using testing::LinearJob;
using testing::SpecBuilder;
using testing::Validate;

// A job whose middle operator is `kind` with `config` and `functions`.
proto::JobSpec With(const std::string& kind, const std::string& config,
                    const std::map<std::string, std::string>& functions = {}) {
  return SpecBuilder("j")
      .Op("op1", "numbers", "source.generator")
      .Op("op2", "middle", kind, config, functions)
      .Op("op3", "results", "sink.collect")
      .Edge("op1", "op2")
      .Edge("op2", "op3")
      .Build();
}

// A job that is just `kind` with `config` feeding (or fed by) a collect sink or generator.
proto::JobSpec Source(const std::string& kind, const std::string& config) {
  return SpecBuilder("j")
      .Op("src", "input", kind, config)
      .Op("out", "results", "sink.collect")
      .Edge("src", "out")
      .Build();
}
proto::JobSpec Sink(const std::string& kind, const std::string& config) {
  return SpecBuilder("j")
      .Op("src", "numbers", "source.generator")
      .Op("out", "output", kind, config)
      .Edge("src", "out")
      .Build();
}

TEST(JobValidatorTest, AcceptsLinearPipeline) {
  auto problems = Validate(LinearJob().Build());
  EXPECT_TRUE(problems.empty()) << Dump(problems);
}

TEST(JobValidatorTest, AcceptsEveryKnownKindWithGoodConfig) {
  for (const proto::JobSpec& spec : {
           Source("source.file", R"({"path": "/data/in.txt", "format": "json"})"),
           Source("source.file", R"({"path": "/data/in.txt"})"),
           Source("source.generator", R"({"count": 0, "rate": 0.5})"),
           Source("source.nexmark",
                  R"({"events": 1000, "rate": 100, "baseTime": 1700000000000,
                      "eventsPerSecond": 10000})"),
           With("filter", "{}", {{"fn", "(r) => r > 1"}}),
           With("flat_map", "", {{"fn", "(r) => [r, r]"}}),
           Sink("sink.stdout", ""),
           Sink("sink.file", R"({"path": "/tmp/out.jsonl"})"),
           Sink("sink.discard", "{}"),
       }) {
    auto problems = Validate(spec);
    EXPECT_TRUE(problems.empty()) << spec.DebugString() << Dump(problems);
  }
}

TEST(JobValidatorTest, RefusesJobWithoutNameOrOperators) {
  auto problems = Validate(proto::JobSpec());
  EXPECT_TRUE(HasProblem(problems, "", {"no name"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "", {"no operators"})) << Dump(problems);
}

TEST(JobValidatorTest, RefusesUnknownKindAndListsKnownKinds) {
  auto problems = Validate(With("mapp", "", {{"fn", "(r) => r"}}));
  ASSERT_EQ(problems.size(), 1u) << Dump(problems);
  EXPECT_EQ(problems[0].operator_id(), "op2");
  EXPECT_EQ(problems[0].operator_name(), "middle");
  EXPECT_TRUE(HasProblem(
      problems, "op2",
      {"\"middle\"", "unknown kind \"mapp\"", "source.file", "map", "flat_map", "sink.collect"}))
      << Dump(problems);
}

TEST(JobValidatorTest, RefusesMissingAndDuplicateOperatorIds) {
  auto spec =
      LinearJob().Op("", "nameless", "sink.stdout").Op("op2", "again", "sink.stdout").Build();
  auto problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "", {"\"nameless\"", "has no id"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op2", {"\"again\"", "reuses id \"op2\"", "\"double\""}))
      << Dump(problems);
}

TEST(JobValidatorTest, RefusesConfigThatIsNotAJsonObject) {
  auto not_json = Validate(Source("source.generator", "{count: 3"));
  EXPECT_TRUE(HasProblem(not_json, "src", {"\"input\"", "not valid JSON"})) << Dump(not_json);
  auto array = Validate(Source("source.generator", "[1, 2]"));
  EXPECT_TRUE(HasProblem(array, "src", {"must be a JSON object", "an array"})) << Dump(array);
}

TEST(JobValidatorTest, RefusesUnknownConfigFieldsAndNamesTheAcceptedOnes) {
  auto problems = Validate(Source("source.file", R"({"path": "/in", "paht": "/in"})"));
  ASSERT_EQ(problems.size(), 1u) << Dump(problems);
  EXPECT_TRUE(
      HasProblem(problems, "src", {"\"input\"", "unknown config field \"paht\"", "path, format"}));
  auto map = Validate(With("map", R"({"fast": true})", {{"fn", "(r) => r"}}));
  EXPECT_TRUE(HasProblem(map, "op2", {"unknown config field \"fast\"", "takes no config"}))
      << Dump(map);
}

TEST(JobValidatorTest, ChecksFileConfig) {
  auto missing = Validate(Source("source.file", R"({"format": "lines"})"));
  EXPECT_TRUE(HasProblem(missing, "src", {"\"path\" is required"})) << Dump(missing);
  auto relative = Validate(Source("source.file", R"({"path": "data/in.txt"})"));
  EXPECT_TRUE(HasProblem(relative, "src", {"\"path\"", "absolute path", "data/in.txt"}))
      << Dump(relative);
  auto format = Validate(Source("source.file", R"({"path": "/in", "format": "csv"})"));
  EXPECT_TRUE(HasProblem(format, "src", {"\"format\"", "\"lines\", \"json\"", "csv"}))
      << Dump(format);
  auto sink = Validate(Sink("sink.file", ""));
  EXPECT_TRUE(HasProblem(sink, "out", {"\"output\"", "\"path\" is required"})) << Dump(sink);
  auto number = Validate(Sink("sink.file", R"({"path": 7})"));
  EXPECT_TRUE(HasProblem(number, "out", {"\"path\"", "absolute path"})) << Dump(number);
}

TEST(JobValidatorTest, ChecksGeneratorAndNexmarkNumbers) {
  auto negative = Validate(Source("source.generator", R"({"count": -1})"));
  EXPECT_TRUE(HasProblem(negative, "src", {"\"count\"", "non-negative integer", "-1"}))
      << Dump(negative);
  auto fraction = Validate(Source("source.generator", R"({"count": 2.5})"));
  EXPECT_TRUE(HasProblem(fraction, "src", {"\"count\"", "non-negative integer"})) << Dump(fraction);
  auto text = Validate(Source("source.generator", R"({"count": "10"})"));
  EXPECT_TRUE(HasProblem(text, "src", {"\"count\"", "non-negative integer"})) << Dump(text);
  auto zero_rate = Validate(Source("source.generator", R"({"rate": 0})"));
  EXPECT_TRUE(HasProblem(zero_rate, "src", {"\"rate\"", "positive number"})) << Dump(zero_rate);
  auto nexmark = Validate(
      Source("source.nexmark", R"({"events": -5, "eventsPerSecond": 0, "baseTime": "now"})"));
  EXPECT_EQ(nexmark.size(), 3u) << Dump(nexmark);
  EXPECT_TRUE(HasProblem(nexmark, "src", {"\"events\""})) << Dump(nexmark);
  EXPECT_TRUE(HasProblem(nexmark, "src", {"\"eventsPerSecond\""})) << Dump(nexmark);
  EXPECT_TRUE(HasProblem(nexmark, "src", {"\"baseTime\""})) << Dump(nexmark);
}

TEST(JobValidatorTest, RequiresTheFunctionsAKindNeeds) {
  auto problems = Validate(With("map", ""));
  EXPECT_TRUE(HasProblem(problems, "op2", {"\"middle\"", "needs a function \"fn\""}))
      << Dump(problems);
  auto empty = Validate(With("filter", "", {{"fn", ""}}));
  EXPECT_TRUE(HasProblem(empty, "op2", {"function \"fn\"", "empty"})) << Dump(empty);
}

TEST(JobValidatorTest, RefusesUnexpectedFunctionRoles) {
  auto map = Validate(With("map", "", {{"fn", "(r) => r"}, {"key", "(r) => r.id"}}));
  EXPECT_TRUE(HasProblem(map, "op2", {"unexpected function \"key\"", "takes: fn"})) << Dump(map);
  auto sink = Validate(SpecBuilder("j")
                           .Op("src", "numbers", "source.generator")
                           .Op("out", "printer", "sink.stdout", "", {{"fn", "(r) => r"}})
                           .Edge("src", "out")
                           .Build());
  EXPECT_TRUE(
      HasProblem(sink, "out", {"\"printer\"", "unexpected function \"fn\"", "takes no functions"}))
      << Dump(sink);
}

TEST(JobValidatorTest, GeneratorFunctionIsOptional) {
  auto spec = LinearJob().Build();
  EXPECT_TRUE(Validate(spec).empty());
  (*spec.mutable_operators(0)->mutable_functions())["fn"] = "(i) => ({id: i})";
  auto problems = Validate(spec);
  EXPECT_TRUE(problems.empty()) << Dump(problems);
}

TEST(JobValidatorTest, ReportsFunctionsTheCheckerRejectsWithItsMessage) {
  std::vector<std::string> checked;
  FunctionChecker check = [&](const std::string& source) {
    checked.push_back(source);
    if (source.find("=>>") != std::string::npos) {
      return Status::User("SyntaxError: Unexpected token '>' (line 1)");
    }
    return Status::Ok();
  };
  auto spec = SpecBuilder("j")
                  .Op("op1", "numbers", "source.generator", "", {{"fn", "(i) =>> i"}})
                  .Op("op2", "double", "map", "", {{"fn", "(r) => r * 2"}})
                  .Op("op3", "keep", "filter", "", {{"fn", "(r) =>> true"}})
                  .Op("op4", "results", "sink.collect")
                  .Edge("op1", "op2")
                  .Edge("op2", "op3")
                  .Edge("op3", "op4")
                  .Build();
  auto problems = ValidateJob(spec, check);
  EXPECT_EQ(checked.size(), 3u);  // every function, not just up to the first bad one
  ASSERT_EQ(problems.size(), 2u) << Dump(problems);
  EXPECT_EQ(problems[0].operator_id(), "op1");
  EXPECT_EQ(problems[0].operator_name(), "numbers");
  EXPECT_EQ(problems[0].message(),
            "operator \"numbers\" (op1), function \"fn\": SyntaxError: Unexpected token '>' "
            "(line 1)");
  EXPECT_TRUE(HasProblem(problems, "op3", {"\"keep\"", "function \"fn\"", "SyntaxError"}));
}

TEST(JobValidatorTest, ChecksParallelismLimits) {
  auto spec = LinearJob().Build();
  spec.set_max_parallelism(40000);
  auto problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "", {"max_parallelism 40000", "32768"})) << Dump(problems);

  spec = LinearJob().Parallelism(200).Build();  // above the default max_parallelism of 128
  problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "", {"parallelism 200", "max_parallelism 128"}))
      << Dump(problems);
  // The operators take the job's parallelism: the one job problem says it, not one per operator
  // ("parallelism 0 exceeds ...").
  EXPECT_EQ(problems.size(), 1u) << Dump(problems);

  spec = LinearJob().Build();
  spec.set_max_parallelism(4);
  for (auto& op : *spec.mutable_operators()) op.set_parallelism(8);
  problems = Validate(spec);
  EXPECT_TRUE(HasProblem(problems, "op2", {"\"double\"", "parallelism 8", "max_parallelism 4"}))
      << Dump(problems);

  spec.set_max_parallelism(32768);
  problems = Validate(spec);
  EXPECT_TRUE(problems.empty()) << Dump(problems);
}

TEST(JobValidatorTest, ReturnsEveryProblemAtOnce) {
  auto spec = SpecBuilder("")
                  .Op("op1", "read", "source.file", R"({"path": "relative.txt"})")
                  .Op("op2", "parse", "map", "", {{"fn", "(r) =>> r"}})
                  .Op("op3", "mystery", "windowed_sum")
                  .Op("op4", "out", "sink.collect", R"({"limit": 3})")
                  .Edge("op1", "op2")
                  .Edge("op2", "op3")
                  .Edge("op3", "op4")
                  .Edge("op4", "op9")
                  .Build();
  FunctionChecker check = [](const std::string&) { return Status::User("SyntaxError"); };
  auto problems = ValidateJob(spec, check);
  EXPECT_TRUE(HasProblem(problems, "", {"no name"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op1", {"\"read\"", "absolute path"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op2", {"\"parse\"", "SyntaxError"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op3", {"\"mystery\"", "unknown kind"})) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op4", {"\"out\"", "unknown config field \"limit\""}))
      << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "op4", {"\"op9\"", "does not exist", "edge #3"}))
      << Dump(problems);
  EXPECT_EQ(problems.size(), 6u) << Dump(problems);
}

TEST(JobValidatorTest, EveryOperatorProblemNamesItsOperator) {
  auto spec = SpecBuilder("j")
                  .Op("a", "alpha", "source.file", R"({"x": 1})")
                  .Op("b", "beta", "map")
                  .Op("c", "gamma", "nope")
                  .Edge("a", "b", proto::HASH)
                  .Edge("b", "b")
                  .Build();
  auto problems = Validate(spec);
  ASSERT_GE(problems.size(), 5u) << Dump(problems);
  for (const auto& problem : problems) {
    if (problem.operator_id().empty()) continue;
    EXPECT_FALSE(problem.operator_name().empty()) << problem.message();
    EXPECT_NE(problem.message().find("\"" + problem.operator_name() + "\""), std::string::npos)
        << problem.message();
  }
}

TEST(JobValidatorTest, ChecksKafkaConfigWithTheConnectorsOwnParser) {
  auto good = SpecBuilder("j")
                  .Op("src", "in", "source.kafka",
                      R"({"brokers": "k:9092", "topics": ["a"], "format": "json", "bounded": true})")
                  .Op("out", "out", "sink.kafka", R"({"brokers": "k:9092", "topic": "b"})",
                      {{"key", "(r) => r.id"}, {"value", "(r) => r"}, {"partition", "(r) => 0"}})
                  .Edge("src", "out")
                  .Build();
  EXPECT_TRUE(Validate(good).empty()) << Dump(Validate(good));

  auto bad = SpecBuilder("j")
                 .Op("src", "in", "source.kafka", R"({"topics": [], "startFrom": "yesterday"})")
                 .Op("out", "out", "sink.kafka", R"({"brokers": "k:9092"})", {{"fn", "(r) => r"}})
                 .Edge("src", "out")
                 .Build();
  auto problems = Validate(bad);
  EXPECT_EQ(problems.size(), 5u) << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "src", {"operator \"in\" (src): config field \"brokers\" is required"}))
      << Dump(problems);
  EXPECT_TRUE(HasProblem(problems, "src", {"config field \"topics\" must be a non-empty array"}));
  EXPECT_TRUE(HasProblem(problems, "src", {"\"startFrom\" must be \"earliest\", \"latest\""}));
  EXPECT_TRUE(HasProblem(problems, "out", {"operator \"out\" (out): config field \"topic\" is required"}));
  EXPECT_TRUE(HasProblem(problems, "out", {"unexpected function \"fn\"", "key, value, partition"}));
}

}  // namespace
}  // namespace sluice::coordinator
