#include "worker/js/js_engine.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/worker/js/test_util.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::Stage;

std::unique_ptr<ChainRunner> MustCreate(const ChainSpec &chain, const Limits &limits = {}) {
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, limits);
  EXPECT_TRUE(runner.ok()) << runner.status().message();
  return runner.ok() ? std::move(runner).value() : nullptr;
}

TEST(ChainRunnerTest, RunsMapFilterFlatMapInOrder) {
  auto runner = MustCreate(Chain({
      Stage("op1", "times10", "map", "(r) => Number(r) * 10"),
      Stage("op2", "big", "filter", "(r) => r > 10"),
      Stage("op3", "twice", "flat_map", "(r) => [r, r + 1]"),
  }));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("1\n2\n3\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "20\n21\n30\n31\n");
  EXPECT_EQ(batch->records_in, 3u);
  EXPECT_EQ(batch->records_out, 4u);
}

TEST(ChainRunnerTest, FilterAfterFlatMapDropsOnlyThatElement) {
  auto runner = MustCreate(Chain({
      Stage("op1", "split", "flat_map", "(r) => r.split(',')"),
      Stage("op2", "notX", "filter", "(r) => r !== 'x'"),
      Stage("op3", "upper", "map", "(r) => r.toUpperCase()"),
  }));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("a,x,b\nx\nc\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "\"A\"\n\"B\"\n\"C\"\n");
}

TEST(ChainRunnerTest, FlatMapAcceptsIterablesAndRejectsOthers) {
  auto runner = MustCreate(Chain({
      Stage("op1", "gen", "flat_map", "function* (r) { yield r; yield r + '!'; }"),
      Stage("op2", "set", "flat_map", "(r) => new Set([r, r])"),
  }));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("a\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "\"a\"\n\"a!\"\n");

  auto bad = MustCreate(Chain({Stage("op7", "explode", "flat_map", "(r) => 5")}));
  ASSERT_NE(bad, nullptr);
  Result<BatchResult> failed = bad->RunText("a\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(failed.status().message().find("operator 'explode' (op7)"), std::string::npos)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("array or an iterable"), std::string::npos);
}

TEST(ChainRunnerTest, ParamsAreParsedOnceAndFrozen) {
  auto runner =
      MustCreate(Chain({Stage("op1", "scale", "map",
                              "(r, p) => Object.isFrozen(p) && Object.isFrozen(p.nested) ? "
                              "Number(r) * p.factor + p.nested.add : -1")},
                       OutputMode::kJsonLines, R"({"factor": 3, "nested": {"add": 1}})"));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("2\n5\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "7\n16\n");
}

TEST(ChainRunnerTest, BadParamsAreAUserError) {
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(
      Chain({Stage("op1", "id", "map", "(r) => r")}, OutputMode::kJsonLines, "{oops"), {});
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(runner.status().message().find("params are not valid JSON"), std::string::npos)
      << runner.status().message();
}

TEST(ChainRunnerTest, GeneratorWithoutFunctionEmitsTheIndexes) {
  auto runner =
      MustCreate(Chain({Stage("op1", "numbers", "source.generator", "", "{\"count\": 5}")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunGenerated(5, 3, 4);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "5\n8\n11\n14\n");
  EXPECT_EQ(batch->records_in, 4u);
  EXPECT_EQ(batch->records_out, 4u);
}

TEST(ChainRunnerTest, GeneratorFunctionGetsIndexAndParams) {
  auto runner = MustCreate(Chain(
      {Stage("op1", "numbers", "source.generator", "(i, p) => ({i: i, sq: i * i, tag: p.tag})"),
       Stage("op2", "odd", "filter", "(r) => r.i % 2 === 1")},
      OutputMode::kJsonLines, R"({"tag": "t"})"));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunGenerated(0, 1, 4);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines,
            "{\"i\":1,\"sq\":1,\"tag\":\"t\"}\n{\"i\":3,\"sq\":9,\"tag\":\"t\"}\n");
  EXPECT_EQ(batch->records_in, 4u);
  EXPECT_EQ(batch->records_out, 2u);
}

TEST(ChainRunnerTest, CountModeCountsWithoutEncoding) {
  auto runner = MustCreate(Chain({Stage("op1", "numbers", "source.generator"),
                                  Stage("op2", "even", "filter", "(r) => r % 2 === 0")},
                                 OutputMode::kCount));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunGenerated(0, 1, 1000);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->records_in, 1000u);
  EXPECT_EQ(batch->records_out, 500u);
  EXPECT_TRUE(batch->json_lines.empty());
}

TEST(ChainRunnerTest, TextLinesBecomeJsonStringsWithoutCarriageReturns) {
  auto runner = MustCreate(Chain({}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("a\r\nsay \"hi\"\n\nd\xC3\xA9j\xC3\xA0\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "\"a\"\n\"say \\\"hi\\\"\"\n\"\"\n\"d\xC3\xA9j\xC3\xA0\"\n");
  EXPECT_EQ(batch->records_in, 4u);
}

TEST(ChainRunnerTest, JsonTextFormatParsesLinesAndSkipsBlankOnes) {
  ChainSpec chain = Chain({Stage("op1", "read", "source.file", "", R"({"format":"json"})"),
                           Stage("op2", "x", "map", "(r) => r.x === undefined ? r : r.x")});
  chain.text_format = "json";
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("{\"x\": 1}\r\n\n   \r\n[1, \"two\"]\n\"s\"\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "1\n[1,\"two\"]\n\"s\"\n");
  EXPECT_EQ(batch->records_in, 3u);
}

TEST(ChainRunnerTest, BadJsonLineNamesTheSourceOperator) {
  ChainSpec chain =
      Chain({Stage("op1", "read", "source.file"), Stage("op2", "id", "map", "(r) => r")});
  chain.text_format = "json";
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("{\"x\": 1}\n{\"x\": \n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  const std::string &message = batch.status().message();
  EXPECT_EQ(message.rfind("operator 'read' (op1): SyntaxError: bad JSON line", 0), 0u) << message;
  EXPECT_NE(message.find("{\"x\": "), std::string::npos) << message;
}

TEST(ChainRunnerTest, BadJsonLineWithoutSourceStageNamesTheInput) {
  ChainSpec chain = Chain({Stage("op2", "id", "map", "(r) => r")});
  chain.text_format = "json";
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("nope\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message().rfind("the input: SyntaxError: bad JSON line", 0), 0u)
      << batch.status().message();
}

TEST(ChainRunnerTest, RecordThatIsNotJsonNamesTheLastOperator) {
  auto runner = MustCreate(Chain(
      {Stage("op1", "first", "map", "(r) => r"), Stage("op2", "last", "map", "(r) => () => r")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("a\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message().rfind("operator 'last' (op2): TypeError: a function "
                                           "cannot be written as JSON",
                                           0),
            0u)
      << batch.status().message();
}

TEST(ChainRunnerTest, ExceptionNamesOperatorAndLineOfTheFunction) {
  auto runner = MustCreate(Chain({
      Stage("op1", "first", "map", "(r) => ({r})"),
      Stage("op2", "parse", "map", "(r) => {\n  const a = undefined;\n  return a.x;\n}"),
  }));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("a\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(batch.status().message(),
            "operator 'parse' (op2): TypeError: Cannot read properties of "
            "undefined (reading "
            "'x') (line 3 of the function)");
  // A failed record does not poison the runner: later batches run again.
  auto ok = runner->RunText("");
  EXPECT_TRUE(ok.ok()) << ok.status().message();
}

TEST(ChainRunnerTest, ThrownNonErrorsAreReported) {
  auto runner =
      MustCreate(Chain({Stage("op5", "thrower", "filter", "(r) => {\n\n throw 'nope'; }")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("a\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message(), "operator 'thrower' (op5): nope (line 3 of the function)");
}

TEST(ChainRunnerTest, SyntaxErrorAtCreateNamesOperatorAndLine) {
  Result<std::unique_ptr<ChainRunner>> runner =
      V8Engine().Create(Chain({Stage("op1", "ok", "map", "(r) => r"),
                               Stage("op2", "broken", "map", "(r) => {\n  return r +;\n}")}),
                        {});
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().domain(), ErrorDomain::kUser);
  const std::string &message = runner.status().message();
  EXPECT_EQ(message.rfind("operator 'broken' (op2): SyntaxError:", 0), 0u) << message;
  EXPECT_NE(message.find("(line 2 of the function)"), std::string::npos) << message;
}

TEST(ChainRunnerTest, SourceThatIsNotAFunctionIsRefused) {
  Result<std::unique_ptr<ChainRunner>> runner =
      V8Engine().Create(Chain({Stage("op1", "num", "map", "42")}), {});
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.status().message().find("operator 'num' (op1)"), std::string::npos);
  EXPECT_NE(runner.status().message().find("not a function"), std::string::npos);
}

TEST(ChainRunnerTest, UnknownKindAndMisplacedSourceAreRefused) {
  Result<std::unique_ptr<ChainRunner>> unknown =
      V8Engine().Create(Chain({Stage("op1", "w", "window", "(r) => r")}), {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("'w' (op1)"), std::string::npos);
  Result<std::unique_ptr<ChainRunner>> misplaced = V8Engine().Create(
      Chain({Stage("op1", "m", "map", "(r) => r"), Stage("op2", "g", "source.generator")}), {});
  ASSERT_FALSE(misplaced.ok());
  EXPECT_NE(misplaced.status().message().find("'g' (op2)"), std::string::npos);
}

TEST(ChainRunnerTest, WrongRunMethodIsAFailedPrecondition) {
  auto text = MustCreate(Chain({Stage("op1", "id", "map", "(r) => r")}));
  ASSERT_NE(text, nullptr);
  EXPECT_EQ(text->RunGenerated(0, 1, 1).status().code(), StatusCode::kFailedPrecondition);
  auto generated = MustCreate(Chain({Stage("op1", "g", "source.generator")}));
  ASSERT_NE(generated, nullptr);
  EXPECT_EQ(generated->RunText("a\n").status().code(), StatusCode::kFailedPrecondition);
}

TEST(ChainRunnerTest, PromiseCallbacksRunBeforeTheBatchReturns) {
  auto runner = MustCreate(Chain({Stage("op1", "async", "map",
                                        "(r) => { Promise.resolve().then(() => { "
                                        "globalThis.n = (globalThis.n || 0) + 1; });\n"
                                        "return globalThis.n || 0; }")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> first = runner->RunText("a\nb\nc\n");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->json_lines, "0\n0\n0\n");
  Result<BatchResult> second = runner->RunText("d\n");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->json_lines, "3\n");
}

TEST(ChainRunnerTest, RunnersOnManyThreadsAgree) {
  const ChainSpec chain = Chain({Stage("op1", "events", "source.nexmark"),
                                 Stage("op2", "bids", "filter", "(r) => r.type === 'bid'")});
  std::vector<std::string> outputs(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < outputs.size(); ++t) {
    threads.emplace_back([&chain, &outputs, t] {
      auto runner = MustCreate(chain);
      if (runner == nullptr) return;
      for (int round = 0; round < 20; ++round) {
        Result<BatchResult> batch = runner->RunGenerated(round * 1000, 1, 1000);
        ASSERT_TRUE(batch.ok()) << batch.status().message();
        outputs[t] += batch->json_lines;
      }
    });
  }
  for (std::thread &thread : threads) thread.join();
  ASSERT_FALSE(outputs[0].empty());
  for (const std::string &output : outputs) EXPECT_EQ(output, outputs[0]);
}

TEST(CheckFunctionTest, AcceptsFunctionExpressions) {
  EXPECT_TRUE(V8Engine().CheckFunction("(r) => r + 1").ok());
  EXPECT_TRUE(V8Engine().CheckFunction("function (r, params) {\n  return r * params.k;\n}").ok());
  EXPECT_TRUE(V8Engine().CheckFunction("function* (r) { yield r; }").ok());
  // Async functions are refused (memory_limits_test.cc, HonestValuesTest).
  EXPECT_FALSE(V8Engine().CheckFunction("async (r) => await r").ok());
}

TEST(CheckFunctionTest, ReportsSyntaxErrorWithLineInTheFunction) {
  Status status = V8Engine().CheckFunction("(r) => {\n  const x = 1;\n  return r +;\n}");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  EXPECT_EQ(status.message().rfind("SyntaxError: ", 0), 0u) << status.message();
  // "  return r +;": the ';' is the 13th character of line 3.
  EXPECT_NE(status.message().find("(line 3, column 13 of the function)"), std::string::npos)
      << status.message();
  // On the first line the column does not count the parenthesis the check wraps around it.
  Status first = V8Engine().CheckFunction("(r) => r +* 2");
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.message().find("(line 1, column 11 of the function)"), std::string::npos)
      << first.message();
}

TEST(CheckFunctionTest, WorksFromManyThreadsWhileRunnersRun) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t] {
      auto runner = MustCreate(Chain({Stage("op1", "id", "map", "(r) => r")}));
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(V8Engine().CheckFunction("(r) => r + " + std::to_string(i)).ok());
        EXPECT_FALSE(V8Engine().CheckFunction("(r) => r +").ok());
        if (runner != nullptr) {
          EXPECT_TRUE(runner->RunText("x\n").ok());
        }
      }
    });
  }
  for (std::thread &thread : threads) thread.join();
}

}  // namespace
}  // namespace sluice::js
