// ChainRunner::SnapshotState and ChainSpec::restore_state against RocksDB: a keyed chain
// checkpointed, restored into a new backend and a new runner (at the same or another
// parallelism), goes on as if nothing had happened.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/worker/js/checkpoint_fixture.h"
#include "worker/js/js_engine.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::js {
namespace {

using namespace checkpoint_testing;  // NOLINT(google-build-using-namespace)

// Before the checkpoint: 40 keys in windows [0,10) and [10,20), the first fired, then records
// whose state is still dirty in the cache at the checkpoint.
const std::vector<Step> kBefore = {
    {Keys("a", 40, 3, 0)}, {Keys("a", 40, 11, 0)}, {{}, 9, 0}, {Keys("b", 10, 14, 0)}};
// After it: more records for old and new keys, then time runs out.
const std::vector<Step> kAfter = {{Keys("a", 20, 15, 0)},
                                  {Keys("c", 10, 21, 0)},
                                  {{}, 19, 0},
                                  {Keys("c", 5, 25, 0)},
                                  {{}, kMaxWatermark, 0}};

TEST_F(CheckpointTest, RestoredWindowsFireAsIfNothingHappened) {
  const std::vector<std::string> expected = Uninterrupted(WindowChain(), kBefore, kAfter);
  ASSERT_GT(expected.size(), 100u);

  Task failed = Fresh(WindowChain(), "failed");
  const std::vector<std::string> before = Run(failed, kBefore);
  const auto source = Checkpoint(failed, "chk-1");
  Run(failed, {{Keys("lost", 5, 16, 0)}});  // after the checkpoint: lost with the task
  Stop(failed);

  Task restored = Restored(WindowChain(), "restored", {source}, {0, kMaxParallelism - 1});
  EXPECT_EQ(Concat(before, Run(restored, kAfter)), expected);
}

// The checkpoint as a task takes it: frozen at the barrier, the cache's part written a few
// entries at a time between later batches (which change, evict and fire what the checkpoint
// holds), then WriteCheckpoint. Restored, it gives what a task restored from a checkpoint
// taken all at once gives.
TEST_F(CheckpointTest, ACheckpointWrittenBetweenLaterBatchesHoldsTheStateAtItsBarrier) {
  const std::vector<std::string> expected = Uninterrupted(WindowChain(), kBefore, kAfter);

  Task failed = Fresh(WindowChain(), "failed");
  const std::vector<std::string> before = Run(failed, kBefore);
  ASSERT_TRUE(failed.backend->Freeze().ok());
  ASSERT_TRUE(failed.runner->BeginSnapshot().ok());
  // Later batches: the same keys (their state changes, the cache of 4 evicts), then time.
  const std::vector<Step> later = {{Keys("a", 20, 15, 0)}, {Keys("b", 10, 16, 0)},
                                   {{}, 19, 0}, {Keys("lost", 5, 16, 0)}};
  size_t parts = 0;
  for (size_t i = 0;; ++i) {
    Result<bool> done = failed.runner->ContinueSnapshot(3);
    ASSERT_TRUE(done.ok()) << done.status().message();
    ++parts;
    if (*done) break;
    if (i >= later.size()) continue;
    for (const std::string &line : Run(failed, {later[i]})) {
      EXPECT_EQ(line.rfind("<", 0), std::string::npos) << line;
    }
  }
  EXPECT_GT(parts, 3u) << "written in parts";
  FinishCheckpointAndStop(failed, Dir("chk-1"));
  if (HasFatalFailure()) return;

  Task restored = Restored(WindowChain(), "restored", {{Dir("chk-1"), 0, kMaxParallelism - 1}},
                           {0, kMaxParallelism - 1});
  EXPECT_EQ(Concat(before, Run(restored, kAfter)), expected);
}

// Sessions that grew before the checkpoint keep their first timers (windows.js, "Session
// timers"); after the restore those fire, move to the sessions' ends, and the sessions fire once.
TEST_F(CheckpointTest, RestoredSessionsThatGrewFireAsIfNothingHappened) {
  const std::vector<Step> before = {
      {Keys("a", 40, 3, 0)}, {Keys("a", 40, 11, 0)}, {{}, 9, 0}, {Keys("b", 10, 14, 0)}};
  const std::vector<Step> after = {{Keys("a", 20, 19, 0)}, {{}, 19, 0},
                                   {Keys("c", 10, 21, 0)}, {{}, 30, 0},
                                   {Keys("c", 5, 35, 0)},  {{}, kMaxWatermark, 0}};
  Task whole = Fresh(SessionChain(), "whole");
  std::vector<std::string> expected = Run(whole, before);  // in this order
  ASSERT_TRUE(expected.empty()) << "no session ends before the checkpoint";
  expected = Run(whole, after);
  // A session per key of a and b, two for c0..c4 (their records at 35.. start new ones).
  ASSERT_EQ(expected.size(), 40u + 10u + 10u + 5u);
  // a3 grew twice, once on each side of the checkpoint: [6,16) [6,24) [6,32).
  EXPECT_NE(std::find(expected.begin(), expected.end(),
                      R"({"key":"a3","window":{"start":6,)"
                      R"("end":32},"value":{"k":"a3","p":3,"v":9}})"),
            expected.end());

  Task failed = Fresh(SessionChain(), "failed");
  Run(failed, before);
  const auto source = Checkpoint(failed, "chk-1");
  Run(failed, {{Keys("a", 5, 16, 0)}});  // after the checkpoint: lost with the task
  Stop(failed);
  Task restored = Restored(SessionChain(), "restored", {source}, {0, kMaxParallelism - 1});
  EXPECT_EQ(Run(restored, after), expected);

  std::vector<std::string> rescaled;
  for (uint32_t s = 0; s < 2; ++s) {
    const KeyGroupRange range = *state::KeyGroupRangeOf(s, 2, kMaxParallelism);
    Task task = Restored(SessionChain(), "sub-" + std::to_string(s), {source}, range);
    ASSERT_NE(task.runner, nullptr);
    rescaled = Concat(rescaled, Run(task, after, range));
  }
  EXPECT_EQ(Sorted(rescaled), Sorted(expected));
}

TEST_F(CheckpointTest, RescaledFromOneSubtaskToTwo) {
  const std::vector<Step> before = {{Keys("a", 50, 3, 100)}, {{}, 2, 110}};
  const std::vector<Step> after = {
      {Keys("a", 50, 6, 300)}, {{}, 30, 130}, {{}, kMaxWatermark, 500}};
  const std::vector<std::string> expected = Uninterrupted(ProcessChain(), before, after);

  Task failed = Fresh(ProcessChain(), "failed");
  const std::vector<std::string> first = Run(failed, before);
  const auto source = Checkpoint(failed, "chk-1");
  Stop(failed);

  std::vector<std::string> all = first;
  for (uint32_t s = 0; s < 2; ++s) {
    const KeyGroupRange range = *state::KeyGroupRangeOf(s, 2, kMaxParallelism);
    Task task = Restored(ProcessChain(), "sub-" + std::to_string(s), {source}, range);
    ASSERT_NE(task.runner, nullptr);
    const std::vector<std::string> out = Run(task, after, range);
    EXPECT_FALSE(out.empty());
    all = Concat(all, out);
    // The subtask's backend holds only its own key groups' timers.
    for (const std::string &key : KeysOf(*task.backend, 1)) {
      EXPECT_TRUE(range.Contains(std::stoul(key))) << key << " in subtask " << s;
    }
  }
  EXPECT_EQ(Sorted(all), Sorted(expected));
}

// Eight incremental checkpoints taken as a task takes them (in parts, each sharing files with
// the one before; timers registered and fired between them, so each writes only some timer
// entries), the oldest deleted as retention does: the last restores at the same parallelism
// and at two subtasks as if nothing happened.
TEST_F(CheckpointTest, TheEndOfAChainOfCheckpointsRestoresAtTheSameAndAnotherParallelism) {
  std::vector<Step> before;
  for (int round = 0; round < 8; ++round) {
    before.push_back({Keys("k" + std::to_string(round % 3), 30, 10 * round, 100 + round)});
    before.push_back({{}, 10 * round - 3, 100 + round});
  }
  const std::vector<Step> after = {
      {Keys("k1", 40, 90, 300)}, {{}, 95, 130}, {{}, kMaxWatermark, 500}};
  const std::vector<std::string> expected = Uninterrupted(ProcessChain(), before, after);

  Task failed = Fresh(ProcessChain(), "failed");
  std::vector<std::string> first;
  std::string base;
  for (size_t i = 0; i < before.size(); i += 2) {
    first = Concat(first, Run(failed, {before[i], before[i + 1]}));
    const std::string dir = Dir("chk-" + std::to_string(i / 2));
    ASSERT_TRUE(failed.backend->Freeze().ok());
    ASSERT_TRUE(failed.runner->BeginSnapshot().ok());
    for (;;) {
      Result<bool> done = failed.runner->ContinueSnapshot(7);
      ASSERT_TRUE(done.ok()) << done.status().message();
      if (*done) break;
    }
    auto written = failed.backend->WriteCheckpoint(dir, base);
    ASSERT_TRUE(written.ok()) << written.status().message();
    ASSERT_TRUE(failed.backend->Thaw().ok());
    if (i >= 4) EXPECT_GT(written->shared_files, 0u) << "checkpoint " << i / 2 << " is incremental";
    if (i / 2 >= 2) fs::remove_all(Dir("chk-" + std::to_string(i / 2 - 2)));  // retention
    base = dir;
  }
  Stop(failed);
  const state::RestoreSource last{base, 0, kMaxParallelism - 1};

  Task same = Restored(ProcessChain(), "same", {last}, {0, kMaxParallelism - 1});
  EXPECT_EQ(Concat(first, Run(same, after)), expected);
  std::vector<std::string> all = first;
  for (uint32_t s = 0; s < 2; ++s) {
    const KeyGroupRange range = *state::KeyGroupRangeOf(s, 2, kMaxParallelism);
    Task task = Restored(ProcessChain(), "sub-" + std::to_string(s), {last}, range);
    all = Concat(all, Run(task, after, range));
  }
  EXPECT_EQ(Sorted(all), Sorted(expected));
}

// A task that restores nothing starts with an empty backend, whose cache then reads only keys
// it wrote (runtime/state.js, "A fresh backend"); a chain given a backend that already holds
// state without a restore still reads every key (the runner looks before it trusts).
TEST_F(CheckpointTest, StateInABackendThatWasNotRestoredIsStillRead) {
  Task first = Fresh(ProcessChain(), "shared");
  ASSERT_EQ(Run(first, {{Keys("a", 10, 3, 100)}, {{}, 100, 0}}).size(), 10u);
  ASSERT_TRUE(first.runner->SnapshotState().ok());  // every count written
  first.runner.reset();
  Task again = Start(ProcessChain(), std::move(first.backend));
  const std::vector<std::string> out = Run(again, {{Keys("a", 10, 200, 300)}, {{}, 300, 0}});
  ASSERT_EQ(out.size(), 10u);
  for (const std::string &line : out) {
    const size_t i = line.find("\"k\":\"a") + 6;
    const int key = std::stoi(line.substr(i));
    EXPECT_NE(line.find("\"n\":" + std::to_string(2 * key) + "}"), std::string::npos)
        << line << ": the count goes on from the stored one";
  }
}

// A backend whose writes fail, for the error path.
class BrokenBackend final : public StateBackend {
 public:
  Result<std::optional<std::string>> Get(uint32_t, uint32_t, std::string_view) override {
    return std::optional<std::string>();
  }
  Status Write(const std::vector<Mutation> &) override {
    return Status::External("state backend at /data/t9: IO error: No space left on device", true);
  }
};

TEST_F(CheckpointTest, ABackendFailureIsAnExternalErrorNamingTheOperator) {
  BrokenBackend backend;
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(ProcessChain(), {}, &backend);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  ASSERT_TRUE((*runner)->RunText(Batch({{"a", 1, 100}})).ok());
  Status snapshot = (*runner)->SnapshotState();
  EXPECT_EQ(snapshot.domain(), ErrorDomain::kExternal);
  EXPECT_TRUE(snapshot.retryable());
  EXPECT_EQ(snapshot.message(),
            "operator 'timed' (op2): its keyed state failed: state backend at /data/t9: IO "
            "error: No space left on device");
}

TEST_F(CheckpointTest, ChainsWithoutKeyedStateSnapshotNothing) {
  ChainSpec chain = testing::Chain({testing::Stage("op1", "double", "map", "(r) => r * 2")});
  chain.text_format = "json";
  std::unique_ptr<ChainRunner> runner = testing::MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  EXPECT_TRUE(runner->SnapshotState().ok());
  // A keyed chain without a backend keeps its state in the isolate: nothing to write.
  std::unique_ptr<ChainRunner> keyed = testing::MustCreate(ProcessChain());
  ASSERT_NE(keyed, nullptr);
  ASSERT_TRUE(keyed->RunText(Batch({{"a", 1, 100}})).ok());
  EXPECT_TRUE(keyed->SnapshotState().ok());
  // ... and cannot be restored.
  ChainSpec restoring = ProcessChain();
  restoring.restore_state = true;
  Result<std::unique_ptr<ChainRunner>> refused = V8Engine().Create(restoring, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "operator 'timed' (op2): restore_state without a state backend to restore from");
}

}  // namespace
}  // namespace sluice::js
