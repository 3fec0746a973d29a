// What checkpoint_test.cc and checkpoint_timers_test.cc share: a keyed chain on RocksDB run as a
// task, checkpointed, failed and restored into a new backend and a new runner (at the same or
// another parallelism); the chains they run and the records they feed them.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/common/temp_dir.h"
#include "tests/worker/js/test_util.h"
#include "worker/js/event_times.h"
#include "worker/js/js_engine.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::js::checkpoint_testing {

namespace fs = std::filesystem;
using state::KeyGroupRange;
using state::RocksStateBackend;
using testing::Lines;

inline constexpr uint32_t kMaxParallelism = 128;
inline const std::vector<std::string> kTables = {"op2", "op2#timers"};

// The key group of an ASCII key (test_util.h KeyHash), for routing records to subtasks.
inline uint32_t KeyGroupOf(const std::string &key) {
  return testing::KeyHash(std::u16string(key.begin(), key.end())) % kMaxParallelism;
}

// A record of key `key` with event time `ts` and a processing-time deadline `p`.
struct Record {
  std::string key;
  int64_t ts;
  int64_t p = 0;
  int v = 1;
};

// A JSON-lines batch whose records carry event times (runtime/codec.js, TIMES_MARK).
inline std::string Batch(const std::vector<Record> &records) {
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
inline ChainSpec SumWindowChain(const std::string &name, const std::string &assigner_json) {
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
inline ChainSpec WindowChain() { return SumWindowChain("sums", R"({"type":"tumbling","size":10})"); }

// Session windows (gap 10 ms) summing v per key.
inline ChainSpec SessionChain() { return SumWindowChain("sessions", R"({"type":"session","gap":10})"); }

// Processing-time tumbling windows summing v per key, so long (2^40 ms: from 2004 to 2039) that
// every record of the test, whose time is the wall clock's, falls into one window; they keep
// their timers themselves (runtime/windows.js, "processing_end").
inline ChainSpec ProcessingWindowChain() {
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
inline ChainSpec ProcessChain() {
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

inline std::vector<std::string> Concat(std::vector<std::string> a,
                                       const std::vector<std::string> &b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

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

  // What one task never interrupted emits for `before` and then `after`, in that order.
  std::vector<std::string> Uninterrupted(const ChainSpec &chain, const std::vector<Step> &before,
                                         const std::vector<Step> &after) {
    Task whole = Fresh(chain, "whole");
    std::vector<std::string> emitted = Run(whole, before);
    return Concat(std::move(emitted), Run(whole, after));
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

inline std::vector<Record> Keys(const std::string &prefix, int n, int64_t ts, int64_t p) {
  std::vector<Record> records;
  for (int i = 0; i < n; ++i) records.push_back({prefix + std::to_string(i), ts + i % 7, p + i, i});
  return records;
}

inline std::vector<std::string> Sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace sluice::js::checkpoint_testing
