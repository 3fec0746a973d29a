// Asynchronous, incremental checkpoints of RocksStateBackend: a frozen instance keeps the
// owner's writes while another thread writes the checkpoint; SST files are shared with the base
// checkpoint by hard links (so deleting old checkpoints, as retention does, frees a file only
// when no kept checkpoint links it); restores work from the end of a long chain, at the same
// and at other parallelisms, after the oldest checkpoints were deleted.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/common/temp_dir.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;
using Mutation = StateBackend::Mutation;
using Contents = std::map<std::tuple<uint32_t, uint32_t, std::string>, std::string>;

constexpr uint32_t kMaxParallelism = 128;
const std::vector<std::string> kTables = {"op4", "op4#timers"};

Contents ContentsOf(RocksStateBackend &backend) {
  Contents contents;
  for (uint32_t table = 0; table < backend.tables().size(); ++table) {
    Status visited = backend.ForEachInRange(
        table, 0, kMaxKeyGroups - 1,
        [&](uint32_t key_group, std::string_view key, std::string_view value) {
          contents[{table, key_group, std::string(key)}] = std::string(value);
          return Status::Ok();
        });
    EXPECT_TRUE(visited.ok()) << visited.message();
  }
  return contents;
}

Contents Slice(const Contents &all, KeyGroupRange range) {
  Contents slice;
  for (const auto &[where, value] : all) {
    if (range.Contains(std::get<1>(where))) slice[where] = value;
  }
  return slice;
}

// Applies `mutations` to `backend` and to `expected`.
void Apply(RocksStateBackend &backend, const std::vector<Mutation> &mutations,
           Contents &expected) {
  ASSERT_TRUE(backend.Write(mutations).ok());
  for (const Mutation &m : mutations) {
    if (m.value.has_value()) {
      expected[{m.table, m.key_group, m.key}] = *m.value;
    } else {
      expected.erase({m.table, m.key_group, m.key});
    }
  }
}

// Round r of a job: 400 keys of round r written, some of round r-1 overwritten and deleted,
// timers of a few key groups, all within `range`.
std::vector<Mutation> Round(int r, KeyGroupRange range) {
  std::vector<Mutation> out;
  const uint32_t width = range.last - range.first + 1;
  for (int i = 0; i < 400; ++i) {
    const uint32_t key_group = range.first + (i * 7919 + r) % width;
    out.push_back({0, key_group, "r" + std::to_string(r) + "-" + std::to_string(i),
                   "{\"n\":" + std::to_string(r * 1000 + i) + "}"});
  }
  if (r > 0) {
    for (int i = 0; i < 400; i += 10) {
      const uint32_t key_group = range.first + (i * 7919 + r - 1) % width;
      const std::string key = "r" + std::to_string(r - 1) + "-" + std::to_string(i);
      if (i % 20 == 0) {
        out.push_back({0, key_group, key, std::nullopt});
      } else {
        out.push_back({0, key_group, key, "\"changed in " + std::to_string(r) + "\""});
      }
    }
  }
  out.push_back({1, range.first + r % width, "", "[" + std::to_string(r) + "]"});
  return out;
}

ino_t Inode(const std::string &path) {
  struct stat info {};
  EXPECT_EQ(::stat(path.c_str(), &info), 0) << path;
  return info.st_ino;
}

std::set<std::string> SstFiles(const std::string &directory) {
  std::set<std::string> out;
  for (const auto &entry : fs::directory_iterator(directory)) {
    if (entry.path().extension() == ".sst") out.insert(entry.path().filename().string());
  }
  return out;
}

class IncrementalCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.block_cache_bytes = size_t{8} << 20; }
  std::string Dir(const std::string &name) const { return (root_.path() / name).string(); }

  // Checkpoint `n` of `backend` into <name>-chk-<n>, based on the previous one (if any).
  Result<CheckpointStats> Take(RocksStateBackend &backend, const std::string &name, int n) {
    SLUICE_RETURN_IF_ERROR(backend.Freeze());
    const std::string base = n > 1 ? Dir(name + "-chk-" + std::to_string(n - 1)) : "";
    auto stats = backend.WriteCheckpoint(Dir(name + "-chk-" + std::to_string(n)), base);
    SLUICE_RETURN_IF_ERROR(backend.Thaw());
    return stats;
  }

  sluice::testing::TempDir root_{"incremental_checkpoint_test"};
  RocksStateOptions options_;
};

TEST_F(IncrementalCheckpointTest, FrozenInstanceKeepsWritesOutOfTheCheckpoint) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  Contents at_barrier;
  Apply(**backend, Round(0, {0, kMaxParallelism - 1}), at_barrier);
  ASSERT_TRUE((*backend)->Freeze().ok());
  EXPECT_FALSE((*backend)->Freeze().ok()) << "frozen twice";
  // The owner goes on while another thread writes the checkpoint.
  Result<CheckpointStats> stats = Status::Internal("not run");
  std::thread writer([&] { stats = (*backend)->WriteCheckpoint(Dir("chk-1"), ""); });
  Contents after = at_barrier;
  for (int r = 1; r <= 3; ++r) Apply(**backend, Round(r, {0, kMaxParallelism - 1}), after);
  writer.join();
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_GT(stats->full_bytes, 0u);
  EXPECT_EQ(stats->incremental_bytes, stats->full_bytes) << "no base: everything is new";
  EXPECT_EQ(stats->shared_files, 0u);
  // Reads see the kept writes, deletions too.
  auto deleted = (*backend)->Get(0, (0 * 7919 + 0) % kMaxParallelism, "r0-0");
  ASSERT_TRUE(deleted.ok());
  EXPECT_FALSE(deleted->has_value());
  EXPECT_GT((*backend)->kept_mutations(), 0u);
  EXPECT_EQ(ContentsOf(**backend).size(), at_barrier.size()) << "iterators read RocksDB only";
  ASSERT_TRUE((*backend)->Thaw().ok());
  EXPECT_EQ(ContentsOf(**backend), after);
  auto checkpoint = RocksStateBackend::Open(Dir("chk-1"), kTables, options_);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status().message();
  EXPECT_EQ(ContentsOf(**checkpoint), at_barrier);
  EXPECT_FALSE(fs::exists(Dir("chk-1.tmp")));
}

// The writes between BeginSnapshot and Freeze (the state cache's flush) stay out of RocksDB on
// the owner's thread; reads see them; WriteCheckpoint writes them before the checkpoint, and
// writes after Freeze are not in it.
TEST_F(IncrementalCheckpointTest, SnapshotLayerIsWrittenByTheCheckpointsThread) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok());
  Contents at_barrier;
  Apply(**backend, Round(0, {0, kMaxParallelism - 1}), at_barrier);
  const Contents before_flush = at_barrier;
  ASSERT_TRUE((*backend)->BeginSnapshot().ok());
  EXPECT_FALSE((*backend)->BeginSnapshot().ok());
  Apply(**backend, Round(1, {0, kMaxParallelism - 1}), at_barrier);
  EXPECT_EQ(ContentsOf(**backend), before_flush) << "the flush is not in RocksDB yet";
  auto flushed = (*backend)->Get(0, (7 * 7919 + 1) % kMaxParallelism, "r1-7");
  ASSERT_TRUE(flushed.ok());
  ASSERT_TRUE(flushed->has_value());
  EXPECT_EQ(**flushed, "{\"n\":1007}");
  ASSERT_TRUE((*backend)->Freeze().ok());
  Contents after = at_barrier;
  Result<CheckpointStats> stats = Status::Internal("not run");
  std::thread writer([&] { stats = (*backend)->WriteCheckpoint(Dir("chk-1"), ""); });
  Apply(**backend, Round(2, {0, kMaxParallelism - 1}), after);
  auto overwritten = (*backend)->Get(0, (10 * 7919 + 1) % kMaxParallelism, "r1-10");
  writer.join();
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  ASSERT_TRUE(overwritten.ok());
  EXPECT_EQ(overwritten->value_or("absent"), "\"changed in 2\"") << "kept before snapshot";
  ASSERT_TRUE((*backend)->Thaw().ok());
  EXPECT_EQ(ContentsOf(**backend), after);
  auto checkpoint = RocksStateBackend::Open(Dir("chk-1"), kTables, options_);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(ContentsOf(**checkpoint), at_barrier);
}

// A copy-on-write cache's checkpoint: frozen first, then the state at the barrier handed over in
// parts with WriteSnapshot while later writes come in (and win for reads and afterwards); the
// checkpoint holds the barrier's state, the instance the latest.
TEST_F(IncrementalCheckpointTest, SnapshotWrittenInPartsAfterTheFreezeIsTheBarriersState) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok());
  Contents at_barrier;
  Apply(**backend, Round(0, {0, kMaxParallelism - 1}), at_barrier);
  ASSERT_TRUE((*backend)->Freeze().ok());
  Contents latest = at_barrier;
  std::vector<Mutation> parts = Round(1, {0, kMaxParallelism - 1});
  for (const Mutation &m : parts) {
    if (m.value.has_value()) at_barrier[{m.table, m.key_group, m.key}] = *m.value;
    else at_barrier.erase({m.table, m.key_group, m.key});
  }
  latest = at_barrier;
  for (size_t i = 0; i < parts.size(); i += 5) {
    std::vector<Mutation> part(parts.begin() + i, parts.begin() + std::min(parts.size(), i + 5));
    ASSERT_TRUE((*backend)->WriteSnapshot(std::move(part)).ok());
    if (i == 10) Apply(**backend, Round(2, {0, kMaxParallelism - 1}), latest);
    // Reads see the later writes first, then the parts so far.
    auto read = (*backend)->Get(0, (10 * 7919 + 1) % kMaxParallelism, "r1-10");
    ASSERT_TRUE(read.ok());
    if (i >= 10) EXPECT_EQ(read->value_or("absent"), "\"changed in 2\"");
  }
  auto checkpointed = (*backend)->WriteCheckpoint(Dir("chk-1"), "");
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.status().message();
  EXPECT_FALSE((*backend)->WriteSnapshot({Mutation{0, 1, "late", std::string("1")}}).ok())
      << "the checkpoint's state is written: nothing joins it any more";
  ASSERT_TRUE((*backend)->Thaw().ok());
  EXPECT_EQ(ContentsOf(**backend), latest);
  auto checkpoint = RocksStateBackend::Open(Dir("chk-1"), kTables, options_);
  ASSERT_TRUE(checkpoint.ok());
  EXPECT_EQ(ContentsOf(**checkpoint), at_barrier);
  EXPECT_TRUE((*backend)->Scan(0, [](uint32_t, std::string_view, std::string_view) {
    return Status::Ok();
  }).ok());
}

// A snapshot that is given up before Freeze (the cache's flush failed): Thaw writes what was
// collected, nothing is lost.
TEST_F(IncrementalCheckpointTest, ThawWithoutCheckpointWritesTheSnapshotLayer) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok());
  Contents expected;
  ASSERT_TRUE((*backend)->BeginSnapshot().ok());
  Apply(**backend, Round(0, {0, kMaxParallelism - 1}), expected);
  ASSERT_TRUE((*backend)->Thaw().ok());
  EXPECT_FALSE((*backend)->frozen());
  EXPECT_EQ(ContentsOf(**backend), expected);
}

TEST_F(IncrementalCheckpointTest, WriteCheckpointRefusesAnInstanceNotFrozen) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok());
  auto stats = (*backend)->WriteCheckpoint(Dir("chk-1"), "");
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("not frozen"), std::string::npos)
      << stats.status().message();
}

TEST_F(IncrementalCheckpointTest, ChainSharesUnchangedFilesWithItsBase) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok());
  Contents expected;
  Apply(**backend, Round(0, {0, kMaxParallelism - 1}), expected);
  auto first = Take(**backend, "a", 1);
  ASSERT_TRUE(first.ok()) << first.status().message();
  Apply(**backend, Round(1, {0, kMaxParallelism - 1}), expected);
  auto second = Take(**backend, "a", 2);
  ASSERT_TRUE(second.ok()) << second.status().message();
  // Checkpoint 2 holds checkpoint 1's files (the same inodes) and the new ones.
  const std::set<std::string> old_files = SstFiles(Dir("a-chk-1"));
  ASSERT_FALSE(old_files.empty());
  size_t shared = 0;
  for (const std::string &name : SstFiles(Dir("a-chk-2"))) {
    if (old_files.count(name) == 0) continue;
    EXPECT_EQ(Inode(Dir("a-chk-2/" + name)), Inode(Dir("a-chk-1/" + name))) << name;
    ++shared;
  }
  EXPECT_EQ(second->shared_files, shared);
  EXPECT_GT(shared, 0u);
  EXPECT_LT(second->incremental_bytes, second->full_bytes);
  // Deleting checkpoint 1 (retention) leaves checkpoint 2 whole.
  fs::remove_all(Dir("a-chk-1"));
  auto reopened = RocksStateBackend::Open(Dir("a-chk-2"), kTables, options_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  EXPECT_EQ(ContentsOf(**reopened), expected);
}

TEST_F(IncrementalCheckpointTest, BaseThatWasDeletedMeansTheFilesAreWrittenAgain) {
  auto backend = RocksStateBackend::Open(Dir("live"), kTables, options_);
  ASSERT_TRUE(backend.ok());
  Contents expected;
  Apply(**backend, Round(0, {0, kMaxParallelism - 1}), expected);
  ASSERT_TRUE(Take(**backend, "b", 1).ok());
  fs::remove_all(Dir("b-chk-1"));  // e.g. the checkpoint failed elsewhere and was deleted
  Apply(**backend, Round(1, {0, kMaxParallelism - 1}), expected);
  auto second = Take(**backend, "b", 2);
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->shared_files, 0u);
  EXPECT_EQ(second->incremental_bytes, second->full_bytes);
  auto reopened = RocksStateBackend::Open(Dir("b-chk-2"), kTables, options_);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(ContentsOf(**reopened), expected);
}

// Two subtasks (parallelism 2) each take 12 incremental checkpoints, keeping the last 3 (the
// older ones are deleted as the coordinator's retention does); the last ones restore at
// parallelism 2 (the fast path), 3 and 1, with exact contents, and a restored instance's next
// checkpoint shares the restored files.
TEST_F(IncrementalCheckpointTest, RestoresFromTheEndOfALongChainAfterRetention) {
  constexpr int kCheckpoints = 12;
  constexpr int kRetained = 3;
  Contents expected;
  std::vector<RestoreSource> latest;
  for (uint32_t subtask = 0; subtask < 2; ++subtask) {
    const KeyGroupRange range = *KeyGroupRangeOf(subtask, 2, kMaxParallelism);
    const std::string name = "s" + std::to_string(subtask);
    auto backend = RocksStateBackend::Open(Dir(name + "-live"), kTables, options_);
    ASSERT_TRUE(backend.ok());
    uint64_t incremental = 0, full = 0;
    for (int n = 1; n <= kCheckpoints; ++n) {
      Apply(**backend, Round(n, range), expected);
      auto stats = Take(**backend, name, n);
      ASSERT_TRUE(stats.ok()) << stats.status().message();
      if (n > kRetained) fs::remove_all(Dir(name + "-chk-" + std::to_string(n - kRetained)));
      incremental += stats->incremental_bytes;
      full = stats->full_bytes;
    }
    // Without sharing every checkpoint would have written its full size.
    EXPECT_LT(incremental, uint64_t{kCheckpoints} * full);
    latest.push_back({Dir(name + "-chk-" + std::to_string(kCheckpoints)), range.first,
                      range.last});
  }
  // Same parallelism: each subtask from its own checkpoint.
  for (uint32_t subtask = 0; subtask < 2; ++subtask) {
    const KeyGroupRange range = *KeyGroupRangeOf(subtask, 2, kMaxParallelism);
    auto restored = RocksStateBackend::Restore(Dir("p2-" + std::to_string(subtask)), kTables,
                                               {latest[subtask]}, range.first, range.last,
                                               options_);
    ASSERT_TRUE(restored.ok()) << restored.status().message();
    EXPECT_EQ(ContentsOf(**restored), Slice(expected, range));
    // Its next checkpoint, based on the one it came from, shares the restored files.
    ASSERT_TRUE((*restored)->Freeze().ok());
    auto next = (*restored)->WriteCheckpoint(Dir("p2-next-" + std::to_string(subtask)),
                                             latest[subtask].path);
    ASSERT_TRUE((*restored)->Thaw().ok());
    ASSERT_TRUE(next.ok()) << next.status().message();
    EXPECT_GT(next->shared_files, 0u);
    EXPECT_LT(next->incremental_bytes, next->full_bytes);
  }
  // Rescaled: 2 -> 3 and 2 -> 1.
  for (uint32_t parallelism : {3u, 1u}) {
    Contents together;
    for (uint32_t subtask = 0; subtask < parallelism; ++subtask) {
      const KeyGroupRange range = *KeyGroupRangeOf(subtask, parallelism, kMaxParallelism);
      auto restored = RocksStateBackend::Restore(
          Dir("p" + std::to_string(parallelism) + "-" + std::to_string(subtask)), kTables,
          latest, range.first, range.last, options_);
      ASSERT_TRUE(restored.ok()) << restored.status().message();
      const Contents part = ContentsOf(**restored);
      EXPECT_EQ(part, Slice(expected, range));
      together.insert(part.begin(), part.end());
    }
    EXPECT_EQ(together, expected) << "parallelism " << parallelism;
  }
}

}  // namespace
}  // namespace sluice::state
