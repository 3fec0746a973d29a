// A chain holding two keyed operators (a keyBy the planner chained at parallelism 1): each keys
// its records with its own selector, keeps its state and timers in its own tables of the one
// backend, fires upstream first, and the pair checkpoints and restores as one task.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/common/temp_dir.h"
#include "tests/worker/js/test_util.h"
#include "worker/js/chain_program.h"
#include "worker/js/event_times.h"
#include "worker/js/js_engine.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::js {
namespace {

using state::RocksStateBackend;
using testing::Lines;

constexpr uint32_t kMaxParallelism = 128;
const std::vector<std::string> kTables = {"op2", "op2#timers", "op3", "op3#timers"};

// Records {k, t, v} as JSON lines.
std::string Batch(const std::vector<std::tuple<std::string, int64_t, int>> &records) {
  std::string lines;
  for (const auto &[k, t, v] : records) {
    lines += "{\"k\":\"" + k + "\",\"t\":" + std::to_string(t) + ",\"v\":" + std::to_string(v) +
             "}\n";
  }
  return lines;
}

// assignTimestamps(t) -> keyBy(k) -> 10 ms windows (`assigner`) summing v -> keyBy(the sum's
// parity) -> 30 ms tumbling windows counting the sums and adding them up.
ChainSpec TwoWindows(const std::string &assigner = R"({"type":"tumbling","size":10})",
                     uint32_t cache_entries = 4) {
  StageSpec sums = testing::Stage("op2", "sums", "window", "",
                                  R"({"assigner":)" + assigner + R"(,"function":"reduce"})");
  sums.functions["reduce"] = "(a, b) => ({ k: a.k, t: b.t, v: a.v + b.v })";
  StageSpec totals = testing::Stage(
      "op3", "totals", "window", "",
      R"({"assigner":{"type":"tumbling","size":30},"function":"aggregate"})");
  totals.functions["create"] = "() => ({ n: 0, v: 0 })";
  totals.functions["add"] = "(a, s) => ({ n: a.n + 1, v: a.v + s.value.v })";
  totals.chained_key_fn = "(s) => s.value.v % 2 === 0 ? 'even' : 'odd'";
  ChainSpec chain = testing::Chain(
      {testing::Stage("op1", "ts", "assign_timestamps", "(r) => r.t"), sums, totals});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.input_key_fns = {"(r) => r.k"};
  chain.keyed_input_in_chain = true;
  chain.max_parallelism = kMaxParallelism;
  // 4: most state lives in RocksDB, and each operator's accesses evict the other's entries.
  chain.state_cache_entries = cache_entries;
  return chain;
}

class ChainedKeyedTest : public ::testing::Test {
 protected:
  std::string Dir(const std::string &name) const { return (root_ / name).string(); }

  struct Task {
    std::unique_ptr<RocksStateBackend> backend;
    std::unique_ptr<ChainRunner> runner;
  };

  Task Start(ChainSpec chain, std::unique_ptr<RocksStateBackend> backend, bool restored) {
    Task task;
    task.backend = std::move(backend);
    chain.restore_state = restored;
    Result<std::unique_ptr<ChainRunner>> runner =
        V8Engine().Create(chain, Limits{}, task.backend.get());
    EXPECT_TRUE(runner.ok()) << runner.status().message();
    if (runner.ok()) task.runner = std::move(runner).value();
    return task;
  }

  // Batches (a record batch, or "" for AdvanceTime(watermark)); the output lines.
  static std::vector<std::string> Run(Task &task, const std::vector<std::string> &batches,
                                      int64_t watermark = kMinWatermark) {
    std::vector<std::string> out;
    for (const std::string &batch : batches) {
      Result<BatchResult> result =
          batch.empty() ? task.runner->AdvanceTime(watermark, 0) : task.runner->RunText(batch);
      if (!result.ok()) return {"<error: " + result.status().message() + ">"};
      for (std::string &line : Lines(result->json_lines)) out.push_back(std::move(line));
    }
    return out;
  }

  sluice::testing::TempDir temp_{"sluice-js-chained"};
  std::filesystem::path root_ = temp_.path();
};

// The second window gets the sums the first fires on a watermark before it fires for that
// watermark itself, in the same call, as a task behind an exchange would.
TEST_F(ChainedKeyedTest, UpstreamTimersFireFirstAndTheirOutputReachesTheNextKeyedOperator) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Task task = Start(TwoWindows(), std::move(backend).value(), false);
  ASSERT_NE(task.runner, nullptr);
  EXPECT_TRUE(Run(task, {Batch({{"a", 1, 1}, {"b", 2, 2}, {"a", 5, 3}})}).empty());
  // Watermark 34: [0, 10) fires a:4 and b:2 (even, both) into the second window, whose
  // [0, 30) of "even" then fires.
  EXPECT_EQ(Run(task, {Batch({{"c", 35, 5}})}),
            (std::vector<std::string>{
                R"({"key":"even","window":{"start":0,"end":30},"value":{"n":2,"v":6}})"}));
  // Each keyed operator's state and timers are in its own tables.
  ASSERT_TRUE(task.runner->SnapshotState().ok());
  std::vector<size_t> entries;
  for (uint32_t table = 0; table < kTables.size(); ++table) {
    size_t n = 0;
    ASSERT_TRUE(task.backend
                    ->ForEachInRange(table, 0, kMaxParallelism - 1,
                                     [&](uint32_t, std::string_view, std::string_view) {
                                       ++n;
                                       return Status::Ok();
                                     })
                    .ok());
    entries.push_back(n);
  }
  EXPECT_GT(entries[0], 0u);  // c's open sum
  EXPECT_GT(entries[1], 0u);  // its timer
  EXPECT_EQ(entries[2], 0u);  // nothing open in the second window
  EXPECT_EQ(entries[3], 0u);
}

// Uninterrupted with a cache that holds everything, and checkpointed, failed and restored with
// a cache of 4 entries: the same records, for tumbling and sliding (sliced) first windows.
TEST_F(ChainedKeyedTest, ACheckpointOfBothOperatorsRestoresAsIfNothingHappened) {
  std::vector<std::string> first, second;
  for (int i = 0; i < 200; ++i) {
    const std::string key(1, static_cast<char>('a' + i % 9));
    (i < 100 ? first : second).push_back(Batch({{key, i * 2, i % 5}}));
  }
  second.push_back("");  // the end of input
  int run = 0;
  for (const std::string assigner :
       {R"({"type":"tumbling","size":10})", R"({"type":"sliding","size":10,"slide":5})"}) {
    const std::string name = std::to_string(run++);
    auto backend = RocksStateBackend::Open(Dir("whole" + name), kTables);
    ASSERT_TRUE(backend.ok()) << backend.status().message();
    Task whole = Start(TwoWindows(assigner, 100000), std::move(backend).value(), false);
    ASSERT_NE(whole.runner, nullptr);
    std::vector<std::string> expected = Run(whole, first);
    const size_t before = expected.size();
    for (std::string &line : Run(whole, second, kMaxWatermark)) expected.push_back(line);
    ASSERT_GT(before, 0u);
    ASSERT_GT(expected.size(), before);

    backend = RocksStateBackend::Open(Dir("live" + name), kTables);
    ASSERT_TRUE(backend.ok()) << backend.status().message();
    Task task = Start(TwoWindows(assigner), std::move(backend).value(), false);
    ASSERT_NE(task.runner, nullptr);
    std::vector<std::string> out = Run(task, first);
    ASSERT_TRUE(task.runner->SnapshotState().ok());
    ASSERT_TRUE(task.backend->Checkpoint(Dir("chk" + name)).ok());
    task.runner.reset();
    task.backend.reset();  // the task fails after its checkpoint

    auto restored_backend = RocksStateBackend::Restore(
        Dir("restored" + name), kTables,
        {state::RestoreSource{Dir("chk" + name), 0, kMaxParallelism - 1, {}}}, 0,
        kMaxParallelism - 1);
    ASSERT_TRUE(restored_backend.ok()) << restored_backend.status().message();
    Task restored = Start(TwoWindows(assigner), std::move(restored_backend).value(), true);
    ASSERT_NE(restored.runner, nullptr);
    for (std::string &line : Run(restored, second, kMaxWatermark)) out.push_back(line);
    EXPECT_EQ(out, expected) << assigner;
  }
}

// Two process functions, each counting per key and emitting its counts on a processing-time
// timer: on one advance the first one's timers fire first, and what they emit registers the
// second one's timers, which fire in the same advance, as a task behind an exchange would on
// its own clock.
TEST_F(ChainedKeyedTest, ProcessingTimeTimersFireUpstreamFirst) {
  const auto counter = [](const std::string &id, const std::string &name, const std::string &key,
                          const std::string &at) {
    StageSpec stage = testing::Stage(id, name, "process");
    stage.functions["processElement"] = R"((r, ctx) => {
      const n = ctx.value("n");
      n.update((n.value() || 0) + 1);
      ctx.timerService.registerProcessingTimeTimer()" + at + R"();
    })";
    stage.functions["onTimer"] = R"((t, ctx) => {
      ctx.emit({ )" + key + R"(, n: ctx.value("n").value(), at: t });
    })";
    return stage;
  };
  StageSpec second = counter("op3", "per parity", "k: ctx.key", "100");
  second.chained_key_fn = "(c) => c.n % 2 === 0 ? 'even' : 'odd'";
  ChainSpec chain = testing::Chain({counter("op2", "per key", "k: ctx.key", "r.p"), second});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.max_parallelism = kMaxParallelism;
  auto backend = RocksStateBackend::Open(Dir("live"), kTables);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Task task = Start(chain, std::move(backend).value(), false);
  ASSERT_NE(task.runner, nullptr);
  const std::string records =
      "{\"k\":\"a\",\"p\":50}\n{\"k\":\"a\",\"p\":50}\n{\"k\":\"b\",\"p\":90}\n"
      "{\"k\":\"c\",\"p\":500}\n";
  ASSERT_TRUE(task.runner->RunText(records).ok());
  Result<BatchResult> early = task.runner->AdvanceTime(std::nullopt, 40);
  ASSERT_TRUE(early.ok()) << early.status().message();
  EXPECT_EQ(early->json_lines, "");
  // now = 100: a (2) and b (1) fire in the first operator; "even" and "odd" then fire in the
  // second, each having counted one.
  Result<BatchResult> fired = task.runner->AdvanceTime(std::nullopt, 100);
  ASSERT_TRUE(fired.ok()) << fired.status().message();
  EXPECT_EQ(fired->json_lines,
            "{\"k\":\"even\",\"n\":1,\"at\":100}\n{\"k\":\"odd\",\"n\":1,\"at\":100}\n");
}

// An assigner between the windows makes the second one's watermark; a sum it gets too late
// for it is dropped and counted (a chain's late counters add up its keyed stages').
TEST_F(ChainedKeyedTest, TheSecondWindowDropsWhatComesLateForItsOwnWatermark) {
  StageSpec counts = testing::Stage("op2", "counts", "window", "",
                                    R"({"assigner":{"type":"tumbling","size":10},"function":"count"})");
  StageSpec all = testing::Stage("op4", "all", "window", "",
                                 R"({"assigner":{"type":"tumbling","size":10},"function":"count"})");
  all.chained_key_fn = "(c) => 'all'";
  ChainSpec chain = testing::Chain(
      {testing::Stage("op1", "ts", "assign_timestamps", "(r) => r.t"), counts,
       testing::Stage("op3", "ts2", "assign_timestamps", "(c) => (c.value === 1 ? 0 : 100)"),
       all});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.input_key_fns = {"(r) => r.k"};
  chain.keyed_input_in_chain = true;
  chain.max_parallelism = kMaxParallelism;
  const std::vector<std::string> tables = {"op2", "op2#timers", "op4", "op4#timers"};
  auto backend = RocksStateBackend::Open(Dir("live"), tables);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Task task = Start(chain, std::move(backend).value(), false);
  ASSERT_NE(task.runner, nullptr);
  ASSERT_TRUE(task.runner->RunText(Batch({{"a", 1, 1}, {"a", 2, 1}, {"b", 3, 1}})).ok());
  // [0, 10) fires a:2 (time 100) and b:1 (time 0); the second window's watermark becomes 99
  // after it took them, and its [0, 10) fires with b.
  Result<BatchResult> second = task.runner->RunText(Batch({{"c", 25, 1}}));
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->json_lines, R"({"key":"all","window":{"start":0,"end":10},"value":1})"
                                "\n");
  EXPECT_EQ(second->late_dropped, 0u);
  // c:1 (time 0) is late for the second window.
  Result<BatchResult> third = task.runner->RunText(Batch({{"d", 45, 1}}));
  ASSERT_TRUE(third.ok()) << third.status().message();
  EXPECT_EQ(third->json_lines, "");
  EXPECT_EQ(third->late_dropped, 1u);
  Result<BatchResult> last = task.runner->AdvanceTime(kMaxWatermark, 0);
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(last->json_lines, R"({"key":"all","window":{"start":100,"end":110},"value":1})"
                              "\n");
  EXPECT_EQ(last->late_dropped, 2u);  // d:1 too
}

TEST_F(ChainedKeyedTest, TheSecondOperatorsKeySelectorsErrorsNameIt) {
  ChainSpec chain = TwoWindows();
  chain.stages[2].chained_key_fn = "(s) => undefined";
  auto backend = RocksStateBackend::Open(Dir("live"), kTables);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Task task = Start(chain, std::move(backend).value(), false);
  ASSERT_NE(task.runner, nullptr);
  EXPECT_EQ(Run(task, {Batch({{"a", 1, 1}, {"a", 20, 1}})}),
            (std::vector<std::string>{"<error: operator 'totals' (op3) (key selector): TypeError: "
                                      "the key selector returned undefined>"}));
  // Without the chained key selector the chain is refused, naming the operator.
  chain.stages[2].chained_key_fn = "";
  Result<std::unique_ptr<ChainRunner>> refused = V8Engine().Create(chain, Limits{}, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'totals' (op3)"), std::string::npos)
      << refused.status().message();
}

// Behind a keyBy marked already partitioned (StageSpec::partitioned_input) the second operator
// checks each key's group against its task's: within the range the chain runs as it does
// unmarked; a key of another subtask's fails it, naming the operator, the key and the range.
TEST_F(ChainedKeyedTest, AnAlreadyPartitionedKeyOfAnotherSubtaskFailsNamingItAndTheRange) {
  ChainSpec chain = TwoWindows();
  chain.stages[2].partitioned_input = true;
  chain.subtask = 1;
  chain.parallelism = 2;
  const auto run = [&](const std::string &dir) {
    auto backend = RocksStateBackend::Open(Dir(dir), kTables);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    Task task = Start(chain, std::move(backend).value(), false);
    EXPECT_NE(task.runner, nullptr);
    return task.runner == nullptr ? std::vector<std::string>{}
                                  : Run(task, {Batch({{"a", 1, 1}, {"a", 20, 1}, {"a", 40, 1}})});
  };
  chain.first_key_group = 0;  // owns them all
  chain.last_key_group = kMaxParallelism - 1;
  for (const std::string &out : run("all")) EXPECT_EQ(out.find("<error"), std::string::npos) << out;
  chain.first_key_group = 1;  // owns none
  chain.last_key_group = 0;
  const std::vector<std::string> out = run("none");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("operator 'totals' (op3)"), std::string::npos) << out[0];
  EXPECT_NE(out[0].find("the key \"odd\" is in key group "), std::string::npos) << out[0];
  EXPECT_NE(out[0].find("which subtask 1 of 2 does not own (it owns key groups 1-0)"),
            std::string::npos)
      << out[0];
}

// The second window operator gets its own copy of the window libraries (rt.stage2, compiled
// apart from the first's, so that V8 keeps each operator's call sites apart), and errors in its
// functions still name it.
TEST_F(ChainedKeyedTest, TheSecondWindowHasItsOwnLibrariesAndItsErrorsNameIt) {
  ChainSpec chain = TwoWindows();
  Result<ChainProgram> program = BuildChainProgram(chain);
  ASSERT_TRUE(program.ok()) << program.status().message();
  EXPECT_NE(program->driver_source.find("const O1 = rt.windows.make("), std::string::npos);
  EXPECT_NE(program->driver_source.find("const O2 = rt.stage2.windows.make("), std::string::npos);
  EXPECT_NE(program->driver_source.find("runtime: rt.stage2 }"), std::string::npos);
  EXPECT_EQ(OwnRuntimeLibraries(chain, *program, 1), std::vector<std::string>{});
  EXPECT_EQ(OwnRuntimeLibraries(chain, *program, 2),
            (std::vector<std::string>{"window_config", "window_slices", "window_sessions",
                                      "windows"}));
  chain.stages[2].functions["add"] = "(a, s) => { throw new Error('boom'); }";
  auto backend = RocksStateBackend::Open(Dir("live"), kTables);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Task task = Start(chain, std::move(backend).value(), false);
  ASSERT_NE(task.runner, nullptr);
  const std::vector<std::string> out = Run(task, {Batch({{"a", 1, 1}, {"a", 20, 1}})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("operator 'totals' (op3)"), std::string::npos) << out[0];
  EXPECT_NE(out[0].find("boom"), std::string::npos) << out[0];
}

// The driver adds a record to its key's open tumbling window itself (windows.js, addFast) only
// while the watermark has not passed the window: a record of a window that fired, within the
// allowed lateness, fires it again at once (a late firing), also when the window is still the
// operator's current bucket. Errors of the reduce on that path name the operator.
TEST_F(ChainedKeyedTest, TheDriversFastPathLeavesAFiredWindowToALateFiring) {
  StageSpec counts = testing::Stage(
      "op2", "counts", "window", "",
      R"({"assigner":{"type":"tumbling","size":10},"function":"count","allowedLateness":20})");
  ChainSpec chain =
      testing::Chain({testing::Stage("op1", "ts", "assign_timestamps", "(r) => r.t"), counts});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.input_key_fns = {"(r) => r.k"};
  chain.keyed_input_in_chain = true;
  chain.max_parallelism = kMaxParallelism;
  Result<ChainProgram> program = BuildChainProgram(chain);
  ASSERT_TRUE(program.ok()) << program.status().message();
  EXPECT_NE(program->driver_source.find("O1.addFast(kg, KM.string, r)"), std::string::npos);
  const std::vector<std::string> tables = {"op2", "op2#timers"};
  auto backend = RocksStateBackend::Open(Dir("live"), tables);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Task task = Start(chain, std::move(backend).value(), false);
  ASSERT_NE(task.runner, nullptr);
  // a:1 opens [0, 10), a:2 takes the fast path; b:16 moves the bucket on and c:5 back to
  // [0, 10); the watermark after the batch (15) fires [0, 10).
  EXPECT_EQ(Run(task, {Batch({{"a", 1, 0}, {"a", 2, 0}, {"b", 16, 0}, {"c", 5, 0}})}),
            (std::vector<std::string>{R"({"key":"a","window":{"start":0,"end":10},"value":2})",
                                      R"({"key":"c","window":{"start":0,"end":10},"value":1})"}));
  // a:3 is in the bucket, and its window has fired: a late firing, not a silent add.
  EXPECT_EQ(Run(task, {Batch({{"a", 3, 0}, {"a", 4, 0}})}),
            (std::vector<std::string>{R"({"key":"a","window":{"start":0,"end":10},"value":3})",
                                      R"({"key":"a","window":{"start":0,"end":10},"value":4})"}));

  StageSpec sums = testing::Stage(
      "op2", "sums", "window", "",
      R"({"assigner":{"type":"tumbling","size":10},"function":"reduce"})");
  sums.functions["reduce"] = "(a, b) => { throw new Error('boom'); }";
  chain.stages[1] = sums;
  auto failing_backend = RocksStateBackend::Open(Dir("fails"), tables);
  ASSERT_TRUE(failing_backend.ok()) << failing_backend.status().message();
  Task failing = Start(chain, std::move(failing_backend).value(), false);
  ASSERT_NE(failing.runner, nullptr);
  const std::vector<std::string> out = Run(failing, {Batch({{"a", 1, 1}, {"a", 2, 1}})});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("operator 'sums' (op2)"), std::string::npos) << out[0];
  EXPECT_NE(out[0].find("boom"), std::string::npos) << out[0];
}

}  // namespace
}  // namespace sluice::js
