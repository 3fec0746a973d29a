// Timers through checkpoints against RocksDB: a process function's event- and processing-time
// timers, one entry each, and processing-time windows' own window end timers, restored in their
// order; timers registered again at times that fired while a checkpoint is written.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "tests/worker/js/checkpoint_fixture.h"

namespace sluice::js {
namespace {

using namespace checkpoint_testing;  // NOLINT(google-build-using-namespace)

TEST_F(CheckpointTest, TimersOfBothDomainsSurviveInTheirOrder) {
  // Processing-time deadlines: a0.. at 100.., b0.. at 200..; `now` fires some before the
  // checkpoint and the rest after.
  const std::vector<Step> before = {
      {Keys("a", 30, 3, 100)}, {Keys("b", 30, 4, 200)}, {{}, 5, 110}, {Keys("c", 6, 8, 150)}};
  const std::vector<Step> after = {
      {Keys("a", 5, 20, 300)}, {{}, 7, 120}, {{}, 9, 205}, {{}, 30, 400}, {{}, kMaxWatermark, 500}};
  const std::vector<std::string> expected = Uninterrupted(ProcessChain(), before, after);

  Task failed = Fresh(ProcessChain(), "failed");
  const std::vector<std::string> first = Run(failed, before);
  const auto source = Checkpoint(failed, "chk-1");
  Stop(failed);

  Task restored = Restored(ProcessChain(), "restored", {source}, {0, kMaxParallelism - 1});
  const std::vector<std::string> second = Run(restored, after);
  EXPECT_EQ(Concat(first, second), expected);
  // Timers registered before the checkpoint fired after the restore, in both domains.
  const auto fired = [&](const std::string &what) {
    return std::count_if(second.begin(), second.end(), [&](const std::string &line) {
      return line.find(what) != std::string::npos;
    });
  };
  EXPECT_EQ(fired(R"({"k":"b1","t":10,"domain":"event","n":1})"), 1);
  EXPECT_EQ(fired(R"({"k":"b1","t":201,"domain":"processing","n":1})"), 1);
  // All processing-time timers but the 11 of a0..a10, which fired before the checkpoint.
  EXPECT_EQ(fired("\"domain\":\"processing\""), 30 + 30 + 6 + 5 - 11);
}

// The window end timers of processing-time windows: entries of their own kind in the timers'
// table, restored so that every key's window fires, in the uninterrupted run's order, when the
// clock passes its end.
TEST_F(CheckpointTest, RestoredProcessingTimeWindowsFireAsIfNothingHappened) {
  const std::vector<Step> before = {{Keys("a", 40, 0, 0)}, {Keys("b", 10, 0, 0)}};
  const std::vector<Step> after = {
      {Keys("a", 20, 0, 0)}, {Keys("c", 10, 0, 0)}, {{}, 0, int64_t{1} << 50}};
  const std::vector<std::string> expected = Uninterrupted(ProcessingWindowChain(), before, after);
  ASSERT_EQ(expected.size(), 60u);

  Task failed = Fresh(ProcessingWindowChain(), "failed");
  EXPECT_TRUE(Run(failed, before).empty());
  const auto source = Checkpoint(failed, "chk-1");
  const std::vector<std::string> timers = KeysOf(*failed.backend, 1);
  ASSERT_FALSE(timers.empty());
  for (const std::string &key : timers) {
    EXPECT_NE(key.find("[\"processing_end\","), std::string::npos) << key;
  }
  Stop(failed);

  Task restored = Restored(ProcessingWindowChain(), "restored", {source}, {0, kMaxParallelism - 1});
  EXPECT_EQ(Run(restored, after), expected);
  // Fired, their entries go with the next checkpoint.
  Checkpoint(restored, "chk-2");
  EXPECT_TRUE(KeysOf(*restored.backend, 1).empty());
}

TEST_F(CheckpointTest, EveryTimerIsAnEntryOfItsOwnThatGoesWhenItFires) {
  Task task = Fresh(ProcessChain(), "task");
  Run(task, {{Keys("a", 20, 3, 100)}});
  const auto first = Checkpoint(task, "chk-1");
  const std::vector<std::string> timers = KeysOf(*task.backend, 1);
  EXPECT_EQ(timers.size(), 40u) << "one entry per timer (20 keys, both domains)";
  for (const std::string &key : timers) {
    EXPECT_NE(key.find("\"a"), std::string::npos) << key << " names its key";
  }
  // Every timer fires; the next snapshot deletes every entry.
  ASSERT_EQ(Run(task, {{{}, 100, 1000}}).size(), 40u);
  const auto second = Checkpoint(task, "chk-2");
  EXPECT_TRUE(KeysOf(*task.backend, 1).empty());
  Stop(task);

  Task empty = Restored(ProcessChain(), "empty", {second}, {0, kMaxParallelism - 1});
  EXPECT_TRUE(Run(empty, {{{}, kMaxWatermark, 5000}}).empty());

  // A restored task deletes the entries it read once their timers are gone, too.
  Task restored = Restored(ProcessChain(), "restored", {first}, {0, kMaxParallelism - 1});
  ASSERT_EQ(Run(restored, {{{}, 100, 1000}}).size(), 40u);
  Checkpoint(restored, "chk-3");
  EXPECT_TRUE(KeysOf(*restored.backend, 1).empty());
}

// A process function's timers registered again at the times that just fired (the same records
// again): each one's entry has the key of the fired one's, whose deletion is frozen at the
// barrier too. The new timers fire while the checkpoint is written, before that deletion is:
// the checkpoint must still hold them (live at its barrier), not the deletion after them.
TEST_F(CheckpointTest, ATimerRegisteredAgainAtAFiredTimeIsInTheCheckpointItFiresDuring) {
  Task failed = Fresh(ProcessChain(), "failed");
  Run(failed, {{Keys("a", 20, 3, 100)}});
  Checkpoint(failed, "chk-1");  // the first timers stored
  ASSERT_EQ(Run(failed, {{{}, 20, 200}}).size(), 40u);
  // At times that fired: they fire at the next advance.
  ASSERT_TRUE(Run(failed, {{Keys("a", 20, 3, 100)}}).empty());
  ASSERT_TRUE(failed.backend->Freeze().ok());
  ASSERT_TRUE(failed.runner->BeginSnapshot().ok());
  const std::vector<std::string> fired = Run(failed, {{{}, 21, 201}});
  ASSERT_EQ(fired.size(), 40u);
  for (;;) {
    Result<bool> done = failed.runner->ContinueSnapshot(3);
    ASSERT_TRUE(done.ok()) << done.status().message();
    if (*done) break;
  }
  FinishCheckpointAndStop(failed, Dir("chk-2"));
  if (HasFatalFailure()) return;

  Task restored = Restored(ProcessChain(), "restored", {{Dir("chk-2"), 0, kMaxParallelism - 1}},
                           {0, kMaxParallelism - 1});
  EXPECT_EQ(KeysOf(*restored.backend, 1).size(), 40u) << "one entry per timer at the barrier";
  EXPECT_EQ(Run(restored, {{{}, 21, 201}}), fired);
}

}  // namespace
}  // namespace sluice::js
