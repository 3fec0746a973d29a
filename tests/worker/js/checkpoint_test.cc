// ChainRunner::SnapshotState and ChainSpec::restore_state against RocksDB: a keyed chain
// checkpointed, restored into a new backend and a new runner (at the same or another
// parallelism), goes on as if nothing had happened.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/worker/js/test_util.h"
#include "worker/js/event_times.h"
#include "worker/js/js_engine.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"
#include "tests/common/temp_dir.h"

namespace sluice::js {
namespace {

namespace fs = std::filesystem;
using state::KeyGroupRange;
using state::RocksStateBackend;
using testing::Lines;

constexpr uint32_t kMaxParallelism = 128;
const std::vector<std::string> kTables = {"op2", "op2#timers"};

// The documented hash (runtime/keys.js) of an ASCII key, for routing records to subtasks.
uint32_t KeyGroupOf(const std::string &key) {
  uint32_t h = 0x811c9dc5u;
  for (char c : key) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x01000193u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h % kMaxParallelism;
}

// A record of key `key` with event time `ts` and a processing-time deadline `p`.
struct Record {
  std::string key;
  int64_t ts;
  int64_t p = 0;
  int v = 1;
};

// A JSON-lines batch whose records carry event times (runtime/codec.js, TIMES_MARK).
std::string Batch(const std::vector<Record> &records) {
  EventTimes times;
  std::string lines;
  for (const Record &r : records) {
    times.Add(r.ts);
    lines += "{\"k\":\"" + r.key + "\",\"p\":" + std::to_string(r.p) +
             ",\"v\":" + std::to_string(r.v) + "}\n";
  }
  return times.Frame(lines);
}

// Event-time windows (`assigner_json`, sizes in ms) summing v per key.
ChainSpec SumWindowChain(const std::string &name, const std::string &assigner_json) {
  StageSpec stage = testing::Stage("op2", name, "window", "",
                                   R"({"assigner":)" + assigner_json + R"(,"function":"reduce"})");
  stage.functions["reduce"] = "(a, b) => ({ k: a.k, p: a.p, v: a.v + b.v })";
  ChainSpec chain = testing::Chain({stage});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.state_cache_entries = 4;  // most state lives in RocksDB, not in the isolate
  return chain;
}

// Tumbling event-time windows of 10 ms summing v per key.
ChainSpec WindowChain() { return SumWindowChain("sums", R"({"type":"tumbling","size":10})"); }

// Session windows (gap 10 ms) summing v per key.
ChainSpec SessionChain() { return SumWindowChain("sessions", R"({"type":"session","gap":10})"); }

// Processing-time tumbling windows summing v per key, so long (2^40 ms: from 2004 to 2039) that
// every record of the test, whose time is the wall clock's, falls into one window; they keep
// their timers themselves (runtime/windows.js, "processing_end").
ChainSpec ProcessingWindowChain() {
  StageSpec stage =
      testing::Stage("op2", "processing sums", "window", "",
                     R"({"assigner":{"type":"tumbling","size":1099511627776},"time":"processing",)"
                     R"("function":"reduce"})");
  stage.functions["reduce"] = "(a, b) => ({ k: a.k, p: a.p, v: a.v + b.v })";
  ChainSpec chain = testing::Chain({stage});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.state_cache_entries = 4;
  return chain;
}

// A process function counting records per key, with an event-time timer at ts + 5 and a
// processing-time timer at the record's p; each timer emits the count so far.
ChainSpec ProcessChain() {
  StageSpec stage = testing::Stage("op2", "timed", "process");
  stage.functions["processElement"] = R"((r, ctx) => {
    const n = ctx.value("n");
    n.update((n.value() || 0) + r.v);
    ctx.timerService.registerEventTimeTimer(ctx.timestamp + 5);
    ctx.timerService.registerProcessingTimeTimer(r.p);
  })";
  stage.functions["onTimer"] = R"((t, ctx) => {
    ctx.emit({ k: ctx.key, t, domain: ctx.timeDomain, n: ctx.value("n").value() });
  })";
  ChainSpec chain = testing::Chain({stage});
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.state_cache_entries = 4;
  return chain;
}

// What the job does to one subtask: batches of records and time moving on.
struct Step {
  std::vector<Record> records;  // RunText when not empty, else AdvanceTime
  int64_t watermark = 0;
  int64_t now = 0;
};

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.block_cache_bytes = size_t{8} << 20; }

  std::string Dir(const std::string &name) const { return (root_ / name).string(); }

  // A task: its backend and its runner (destroyed in that order's reverse).
  struct Task {
    std::unique_ptr<RocksStateBackend> backend;
    std::unique_ptr<ChainRunner> runner;
  };

  // The task fails: its runner goes, then its backend.
  static void Stop(Task &task) {
    task.runner.reset();
    task.backend.reset();
  }

  // The checkpoint written in parts is finished into `dir` (the asynchronous part), then the
  // task fails.
  static void FinishCheckpointAndStop(Task &task, const std::string &dir) {
    auto written = task.backend->WriteCheckpoint(dir, "");
    ASSERT_TRUE(written.ok()) << written.status().message();
    ASSERT_TRUE(task.backend->Thaw().ok());
    Stop(task);
  }

  Task Start(const ChainSpec &chain, std::unique_ptr<RocksStateBackend> backend) {
    Task task;
    task.backend = std::move(backend);
    Result<std::unique_ptr<ChainRunner>> runner =
        V8Engine().Create(chain, Limits{}, task.backend.get());
    EXPECT_TRUE(runner.ok()) << runner.status().message();
    if (runner.ok()) task.runner = std::move(runner).value();
    return task;
  }

  Task Fresh(const ChainSpec &chain, const std::string &name) {
    auto backend = RocksStateBackend::Open(Dir(name), kTables, options_);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    return Start(chain, backend.ok() ? std::move(backend).value() : nullptr);
  }

  Task Restored(ChainSpec chain, const std::string &name,
                const std::vector<state::RestoreSource> &sources, KeyGroupRange range) {
    auto backend =
        RocksStateBackend::Restore(Dir(name), kTables, sources, range.first, range.last, options_);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    chain.restore_state = true;
    return Start(chain, backend.ok() ? std::move(backend).value() : nullptr);
  }

  // Runs the steps whose records belong to `range`; returns the output lines.
  static std::vector<std::string> Run(Task &task, const std::vector<Step> &steps,
                                      KeyGroupRange range = {0, kMaxParallelism - 1}) {
    std::vector<std::string> out;
    if (task.runner == nullptr) return {"<no runner>"};
    for (const Step &step : steps) {
      Result<BatchResult> batch = Status::Ok();
      if (step.records.empty()) {
        batch = task.runner->AdvanceTime(step.watermark, step.now);
      } else {
        std::vector<Record> mine;
        for (const Record &r : step.records) {
          if (range.Contains(KeyGroupOf(r.key))) mine.push_back(r);
        }
        if (mine.empty()) continue;
        batch = task.runner->RunText(Batch(mine));
      }
      if (!batch.ok()) return {"<error: " + batch.status().message() + ">"};
      for (std::string &line : Lines(batch->json_lines)) out.push_back(std::move(line));
    }
    return out;
  }

  // Snapshot and checkpoint, as a task does at a barrier.
  state::RestoreSource Checkpoint(Task &task, const std::string &name,
                                  KeyGroupRange range = {0, kMaxParallelism - 1}) {
    Status snapshot = task.runner->SnapshotState();
    EXPECT_TRUE(snapshot.ok()) << snapshot.message();
    Status made = task.backend->Checkpoint(Dir(name));
    EXPECT_TRUE(made.ok()) << made.message();
    return {Dir(name), range.first, range.last};
  }

  // The keys of `table` in a backend, as "keyGroup/key".
  static std::vector<std::string> KeysOf(RocksStateBackend &backend, uint32_t table) {
    std::vector<std::string> keys;
    Status visited = backend.ForEachInRange(
        table, 0, kMaxParallelism - 1, [&](uint32_t kg, std::string_view key, std::string_view) {
          keys.push_back(std::to_string(kg) + "/" + std::string(key));
          return Status::Ok();
        });
    EXPECT_TRUE(visited.ok()) << visited.message();
    return keys;
  }

  sluice::testing::TempDir temp_{"sluice-js-checkpoint"};
  fs::path root_ = temp_.path();
  state::RocksStateOptions options_;
};

std::vector<Record> Keys(const std::string &prefix, int n, int64_t ts, int64_t p) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) records.push_back({prefix + std::to_string(i), ts + i % 7, p + i, i});
  return records;
}

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

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
  Task whole = Fresh(WindowChain(), "whole");
  std::vector<std::string> expected = Run(whole, kBefore);  // in this order
  expected = Concat(expected, Run(whole, kAfter));
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
  Task whole = Fresh(WindowChain(), "whole");
  std::vector<std::string> expected = Run(whole, kBefore);
  expected = Concat(expected, Run(whole, kAfter));

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

TEST_F(CheckpointTest, TimersOfBothDomainsSurviveInTheirOrder) {
  // Processing-time deadlines: a0.. at 100.., b0.. at 200..; `now` fires some before the
  // checkpoint and the rest after.
  const std::vector<Step> before = {
      {Keys("a", 30, 3, 100)}, {Keys("b", 30, 4, 200)}, {{}, 5, 110}, {Keys("c", 6, 8, 150)}};
  const std::vector<Step> after = {
      {Keys("a", 5, 20, 300)}, {{}, 7, 120}, {{}, 9, 205}, {{}, 30, 400}, {{}, kMaxWatermark, 500}};
  Task whole = Fresh(ProcessChain(), "whole");
  std::vector<std::string> expected = Run(whole, before);  // in this order
  expected = Concat(expected, Run(whole, after));

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
  Task whole = Fresh(ProcessingWindowChain(), "whole");
  std::vector<std::string> expected = Run(whole, before);
  expected = Concat(expected, Run(whole, after));
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

TEST_F(CheckpointTest, RescaledFromOneSubtaskToTwo) {
  const std::vector<Step> before = {{Keys("a", 50, 3, 100)}, {{}, 2, 110}};
  const std::vector<Step> after = {
      {Keys("a", 50, 6, 300)}, {{}, 30, 130}, {{}, kMaxWatermark, 500}};
  Task whole = Fresh(ProcessChain(), "whole");
  std::vector<std::string> expected = Run(whole, before);  // in this order
  expected = Concat(expected, Run(whole, after));

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
  Task whole = Fresh(ProcessChain(), "whole");
  std::vector<std::string> expected = Run(whole, before);
  expected = Concat(expected, Run(whole, after));

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
