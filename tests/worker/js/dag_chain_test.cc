// A chain whose stages are a DAG (ChainSpec::dag; the planner's fan-out that meets again): each
// branch takes every record of the stage before it, a stage several links lead into runs once
// per record that reaches it, a join gets its two inputs inside the chain keyed by each input's
// selector, and a keyed stage fires before the one after it for the same watermark.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/common/temp_dir.h"
#include "tests/worker/js/test_util.h"
#include "worker/js/chain_program.h"
#include "worker/js/js_engine.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::js {
namespace {

using testing::Lines;
using testing::Stage;

StageSpec Linked(StageSpec stage, std::vector<StageLink> next) {
  stage.next = std::move(next);
  return stage;
}

// x -> { even -> x, multiple of 3 -> x } -> x * 10: 6 comes out twice.
ChainSpec Diamond() {
  ChainSpec chain = testing::Chain({
      Linked(Stage("op1", "in", "map", "(x) => x"), {{1, 0}, {2, 0}}),
      Linked(Stage("op2", "even", "filter", "(x) => x % 2 === 0"), {{3, 0}}),
      Linked(Stage("op3", "threes", "filter", "(x) => x % 3 === 0"), {{3, 0}}),
      Linked(Stage("op4", "times ten", "map", "(x) => x * 10"), {{4, 0}}),
  });
  chain.text_format = "json";
  chain.dag = true;
  return chain;
}

TEST(DagChainTest, BranchesTakeEveryRecordAndMeetInOneStage) {
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(Diamond(), Limits{});
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> result = (*runner)->RunText("1\n2\n3\n4\n5\n6\n");
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(Lines(result->json_lines),
            (std::vector<std::string>{"20", "30", "40", "60", "60"}));
  EXPECT_EQ(result->records_in, 6u);
  EXPECT_EQ(result->records_out, 5u);
  // The shared stage is one function, called from both branches.
  Result<ChainProgram> program = BuildChainProgram(Diamond());
  ASSERT_TRUE(program.ok());
  EXPECT_NE(program->driver_source.find("function N3(r, t)"), std::string::npos);
  EXPECT_EQ(program->links_in, (std::vector<int>{0, 1, 1, 2, 1}));
}

// An error in a branch, in the shared stage or in a join input's key selector names its
// operator, as in a line.
TEST(DagChainTest, ErrorsNameTheOperatorOfTheirBranch) {
  ChainSpec chain = Diamond();
  chain.stages[2].functions["fn"] =
      "(x) => { if (x === 3) throw new Error('no threes'); return false; }";
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> result = (*runner)->RunText("2\n3\n");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("operator 'threes' (op3): Error: no threes"),
            std::string::npos)
      << result.status().message();
  chain = Diamond();
  chain.stages[3].functions["fn"] = "(x) => x.y.z";
  runner = V8Engine().Create(chain, Limits{});
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  result = (*runner)->RunText("2\n");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("operator 'times ten' (op4)"), std::string::npos)
      << result.status().message();
}

TEST(DagChainTest, RefusesALinkBackwards) {
  ChainSpec chain = Diamond();
  chain.stages[2].next = {{1, 0}};
  Result<ChainProgram> program = BuildChainProgram(chain);
  ASSERT_FALSE(program.ok());
  EXPECT_NE(program.status().message().find("links to stage 1"), std::string::npos);
}

// assignTimestamps -> { L -> map, R -> map } -> 10 ms window join (left by k, right by k) ->
// keyBy(k) -> 30 ms windows counting the pairs.
ChainSpec JoinThenCount() {
  StageSpec join = Stage("op6", "pairs", "window_join", "",
                         R"({"assigner":{"type":"tumbling","size":10}})");
  join.functions["apply"] = "(l, r, w) => ({ k: l.k, pair: l.id + r.id, start: w.start })";
  join.chained_key_fns = {"(l) => l.k", "(r) => r.k"};
  StageSpec count = Stage("op7", "counts", "window", "",
                          R"({"assigner":{"type":"tumbling","size":30},"function":"count"})");
  count.chained_key_fns = {"(p) => p.k"};
  ChainSpec chain = testing::Chain({
      Linked(Stage("op1", "ts", "assign_timestamps", "(r) => r.t"), {{1, 0}, {3, 0}}),
      Linked(Stage("op2", "left", "filter", "(r) => r.side === 'L'"), {{2, 0}}),
      Linked(Stage("op3", "left rows", "map", "(r) => ({ k: r.k, id: r.id })"), {{5, 0}}),
      Linked(Stage("op4", "right", "filter", "(r) => r.side === 'R'"), {{4, 0}}),
      Linked(Stage("op5", "right rows", "map", "(r) => ({ k: r.k, id: r.id })"), {{5, 1}}),
      Linked(join, {{6, 0}}),
      Linked(count, {{7, 0}}),
  });
  chain.text_format = "json";
  chain.dag = true;
  chain.keyed_input_in_chain = true;
  chain.input_key_fns = join.chained_key_fns;
  chain.input_key_fn = join.chained_key_fns[0];
  chain.max_parallelism = 128;
  return chain;
}

TEST(DagChainTest, AJoinGetsBothBranchesAndFiresBeforeTheWindowAfterIt) {
  sluice::testing::TempDir dir("sluice-js-dag");
  auto backend = state::RocksStateBackend::Open(
      dir.path().string(), {"op6", "op6#timers", "op7", "op7#timers"});
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Result<std::unique_ptr<ChainRunner>> runner =
      V8Engine().Create(JoinThenCount(), Limits{}, backend->get());
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> first = (*runner)->RunText(
      R"({"k":"a","side":"L","id":"l1","t":1})" "\n"
      R"({"k":"a","side":"R","id":"r1","t":3})" "\n"
      R"({"k":"b","side":"R","id":"r2","t":4})" "\n"
      R"({"k":"b","side":"L","id":"l2","t":5})" "\n"
      R"({"k":"b","side":"L","id":"l3","t":12})" "\n");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(first->json_lines.empty());
  // Watermark 34: the join fires [0, 10) (a: l1r1, b: l2r2) into the counts, which then fire
  // [0, 30) in the same call; l3 found no partner.
  Result<BatchResult> second = (*runner)->RunText(R"({"k":"c","side":"L","id":"x","t":35})" "\n");
  ASSERT_TRUE(second.ok()) << second.status().message();
  std::vector<std::string> lines = Lines(second->json_lines);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       R"({"key":"a","window":{"start":0,"end":30},"value":1})",
                       R"({"key":"b","window":{"start":0,"end":30},"value":1})"}));
  EXPECT_EQ(second->watermark, 34);
}

TEST(DagChainTest, AKeySelectorErrorNamesTheJoinsSelectorOfThatInput) {
  ChainSpec chain = JoinThenCount();
  chain.stages[5].chained_key_fns[1] = "(r) => undefined";
  sluice::testing::TempDir dir("sluice-js-dag-key");
  auto backend = state::RocksStateBackend::Open(
      dir.path().string(), {"op6", "op6#timers", "op7", "op7#timers"});
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Result<std::unique_ptr<ChainRunner>> runner =
      V8Engine().Create(chain, Limits{}, backend->get());
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> result =
      (*runner)->RunText(R"({"k":"a","side":"R","id":"r1","t":3})" "\n");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("operator 'pairs' (op6)"), std::string::npos)
      << result.status().message();
  EXPECT_NE(result.status().message().find("key selector"), std::string::npos)
      << result.status().message();
}

// The window join keeps its window end timers in window_slices.js's EndTimers, in
// window_config.js's format (runtime/README.md): a chain with a join loads both, before joins.js.
TEST(DagChainTest, AJoinIsGivenTheWindowLibrariesOfItsEndTimers) {
  ChainSpec chain = JoinThenCount();
  Result<ChainProgram> program = BuildChainProgram(chain);
  ASSERT_TRUE(program.ok()) << program.status().message();
  const std::vector<std::string> names = RuntimeLibraries(chain, *program);
  const auto at = [&names](const std::string &name) {
    return std::find(names.begin(), names.end(), name) - names.begin();
  };
  ASSERT_LT(at("joins"), static_cast<long>(names.size()));
  EXPECT_LT(at("window_config"), at("joins"));
  EXPECT_LT(at("window_slices"), at("joins"));
}

}  // namespace
}  // namespace sluice::js
