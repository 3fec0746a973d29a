// RocksStateBackend::Restore: a task's state out of old tasks' checkpoints, at the same or
// another parallelism.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"
#include "tests/common/temp_dir.h"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;
using Mutation = StateBackend::Mutation;
using Source = RestoreSource;
// (table, key group, key) -> value
using Contents = std::map<std::tuple<uint32_t, uint32_t, std::string>, std::string>;

constexpr uint32_t kMaxParallelism = 128;
const std::vector<std::string> kTables = {"op4", "op4#timers"};

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override { options_.block_cache_bytes = size_t{8} << 20; }

  std::string Dir(const std::string &name) const { return (root_ / name).string(); }

  static KeyGroupRange Groups(const Source &source) {
    return KeyGroupRange{source.first_key_group, source.last_key_group};
  }

  static KeyGroupRange RangeOf(uint32_t subtask, uint32_t parallelism) {
    return *KeyGroupRangeOf(subtask, parallelism, kMaxParallelism);
  }

  // Every entry of `backend`'s tables.
  static Contents ContentsOf(RocksStateBackend &backend) {
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

  // The entries of `all` whose key group lies in `range`.
  static Contents Slice(const Contents &all, KeyGroupRange range) {
    Contents slice;
    for (const auto &[where, value] : all) {
      if (range.Contains(std::get<1>(where))) slice[where] = value;
    }
    return slice;
  }

  // 3000 keys over all key groups in both tables (a third of them only in table 0), some
  // overwritten and some deleted after a first checkpoint so that the files hold old versions.
  static Contents Job() {
    Contents contents;
    for (int i = 0; i < 3000; ++i) {
      const uint32_t key_group = (i * 7919) % kMaxParallelism;
      const std::string key = "key-" + std::to_string(i);
      contents[{0, key_group, key}] = "{\"n\":" + std::to_string(i) + "}";
      if (i % 3 != 0) contents[{1, key_group, ""}] = "[" + std::to_string(key_group) + "]";
    }
    return contents;
  }

  // Subtask `subtask` of `parallelism` with its part of `contents`, checkpointed into `name`.
  Source Checkpointed(const Contents &contents, uint32_t subtask, uint32_t parallelism,
                      const std::string &name) {
    const KeyGroupRange range = RangeOf(subtask, parallelism);
    auto backend = RocksStateBackend::Open(Dir(name + "-live"), kTables, options_);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    std::vector<Mutation> first, second;
    for (const auto &[where, value] : Slice(contents, range)) {
      const auto &[table, key_group, key] = where;
      first.push_back(Mutation{table, key_group, key, "stale"});
      second.push_back(Mutation{table, key_group, key, value});
    }
    // Keys that once were and are gone.
    first.push_back(Mutation{0, range.first, "deleted", "x"});
    second.push_back(Mutation{0, range.first, "deleted", std::nullopt});
    EXPECT_TRUE((*backend)->Write(first).ok());
    // An earlier checkpoint flushes the first versions to a file of their own.
    EXPECT_TRUE((*backend)->Checkpoint(Dir(name + "-older")).ok());
    EXPECT_TRUE((*backend)->Write(second).ok());
    const std::string path = Dir(name);
    Status made = (*backend)->Checkpoint(path);
    EXPECT_TRUE(made.ok()) << made.message();
    return Source{path, range.first, range.last};
  }

  std::unique_ptr<RocksStateBackend> MustRestore(const std::string &name,
                                                 const std::vector<Source> &sources,
                                                 KeyGroupRange range) {
    auto restored =
        RocksStateBackend::Restore(Dir(name), kTables, sources, range.first, range.last, options_);
    EXPECT_TRUE(restored.ok()) << restored.status().message();
    return restored.ok() ? std::move(restored).value() : nullptr;
  }

  // Each file's name, size and modification time: what restoring must not change.
  static std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> Listing(
      const std::string &dir) {
    std::map<std::string, std::pair<uintmax_t, fs::file_time_type>> files;
    for (const auto &entry : fs::directory_iterator(dir)) {
      files[entry.path().filename().string()] = {entry.file_size(), entry.last_write_time()};
    }
    return files;
  }

  sluice::testing::TempDir temp_{"sluice-restore-test"};
  fs::path root_ = temp_.path();
  RocksStateOptions options_;
};

TEST_F(RestoreTest, SameKeyGroupsLinkTheCheckpointsFilesAndLeaveItUnchanged) {
  const Contents job = Job();
  const Source source = Checkpointed(job, 1, 2, "chk-1");
  const auto before = Listing(source.path);

  auto restored = MustRestore("restored", {source}, Groups(source));
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(ContentsOf(*restored), Slice(job, Groups(source)));
  size_t linked = 0;
  for (const auto &entry : fs::directory_iterator(Dir("restored"))) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.substr(name.size() - 4) == ".sst") {
      EXPECT_TRUE(fs::equivalent(entry.path(), fs::path(source.path) / name)) << name;
      ++linked;
    }
  }
  EXPECT_GT(linked, 0u);

  // The restored instance is the task's own: writes to it, and compacting it, leave the
  // checkpoint as it was.
  ASSERT_TRUE(restored->Write({Mutation{0, Groups(source).first, "new", "1"}}).ok());
  ASSERT_TRUE(restored->Close().ok());
  EXPECT_EQ(Listing(source.path), before);
}

TEST_F(RestoreTest, TwoSubtasksBecomeThreeAndThreeBecomeTwoWithExactContents) {
  const Contents job = Job();
  std::vector<Source> two;
  for (uint32_t s = 0; s < 2; ++s)
    two.push_back(Checkpointed(job, s, 2, "two-" + std::to_string(s)));

  // 2 -> 3: every new subtask holds exactly its key groups' entries.
  std::vector<Source> three;
  for (uint32_t s = 0; s < 3; ++s) {
    const std::string name = "three-" + std::to_string(s);
    auto restored = MustRestore(name, two, RangeOf(s, 3));
    ASSERT_NE(restored, nullptr);
    EXPECT_EQ(ContentsOf(*restored), Slice(job, RangeOf(s, 3))) << "subtask " << s << " of 3";
    ASSERT_TRUE(restored->Checkpoint(Dir(name + "-chk")).ok());
    three.push_back(Source{Dir(name + "-chk"), RangeOf(s, 3).first, RangeOf(s, 3).last});
  }

  // 3 -> 2 (and -> 1): back to the original split, entry for entry.
  for (uint32_t s = 0; s < 2; ++s) {
    auto restored = MustRestore("back-" + std::to_string(s), three, RangeOf(s, 2));
    ASSERT_NE(restored, nullptr);
    EXPECT_EQ(ContentsOf(*restored), Slice(job, RangeOf(s, 2))) << "subtask " << s << " of 2";
  }
  auto one = MustRestore("one", three, RangeOf(0, 1));
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(ContentsOf(*one), job);
}

TEST_F(RestoreTest, OneCheckpointRestoresTwiceAndByTwoRescaledTasks) {
  const Contents job = Job();
  const Source whole = Checkpointed(job, 0, 1, "chk");
  const auto before = Listing(whole.path);

  auto first = MustRestore("first", {whole}, Groups(whole));
  auto second = MustRestore("second", {whole}, Groups(whole));
  // Two tasks of a rescaled job read the same checkpoint at once.
  auto left = MustRestore("left", {whole}, RangeOf(0, 2));
  auto right = MustRestore("right", {whole}, RangeOf(1, 2));
  ASSERT_TRUE(first && second && left && right);

  ASSERT_TRUE(first->Write({Mutation{0, 3, "key-3", std::nullopt}}).ok());
  EXPECT_EQ(ContentsOf(*second), job);
  EXPECT_EQ(ContentsOf(*left), Slice(job, RangeOf(0, 2)));
  EXPECT_EQ(ContentsOf(*right), Slice(job, RangeOf(1, 2)));
  Contents changed = job;
  changed.erase({0, 3, "key-3"});
  EXPECT_EQ(ContentsOf(*first), changed);
  EXPECT_EQ(Listing(whole.path), before);

  // And once more after all that.
  first.reset();
  auto third = MustRestore("third", {whole}, Groups(whole));
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(ContentsOf(*third), job);
}

TEST_F(RestoreTest, TablesASourceLacksAreEmptyAndItsOtherTablesAreKeptUnused) {
  auto old = RocksStateBackend::Open(Dir("old"), {"op4", "op9"}, options_);
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE((*old)->Write({Mutation{0, 5, "a", "1"}, Mutation{1, 5, "b", "2"}}).ok());
  ASSERT_TRUE((*old)->Checkpoint(Dir("chk")).ok());
  const Source source{Dir("chk"), 0, kMaxParallelism - 1};

  auto same = MustRestore("same", {source}, Groups(source));        // linked
  auto part = MustRestore("part", {source}, KeyGroupRange{0, 63});  // copied
  ASSERT_TRUE(same && part);
  const Contents expected = {{{0, 5, "a"}, "1"}};
  EXPECT_EQ(ContentsOf(*same), expected);
  EXPECT_EQ(ContentsOf(*part), expected);
}

TEST_F(RestoreTest, KeyGroupsNoSourceHoldsAreEmpty) {
  const Contents job = Job();
  const Source low = Checkpointed(job, 0, 2, "low");
  auto restored = MustRestore("restored", {low}, RangeOf(0, 1));  // the high half is gone
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(ContentsOf(*restored), Slice(job, Groups(low)));
  auto none = MustRestore("none", {}, RangeOf(0, 1));
  ASSERT_NE(none, nullptr);
  EXPECT_TRUE(ContentsOf(*none).empty());
}

TEST_F(RestoreTest, ErrorsNameTheSourceAndLeaveNoDirectoryBehind) {
  const Contents job = Job();
  const Source good = Checkpointed(job, 0, 2, "good");

  // A source that is not there (slow path: rescaling) names its path.
  const Source missing{Dir("missing"), RangeOf(1, 2).first, RangeOf(1, 2).last};
  auto failed = RocksStateBackend::Restore(Dir("a"), kTables, {good, missing}, 0,
                                           kMaxParallelism - 1, options_);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().domain(), ErrorDomain::kExternal);
  EXPECT_NE(
      failed.status().message().find("restoring state at " + Dir("a") + " from " + Dir("missing")),
      std::string::npos)
      << failed.status().message();
  EXPECT_FALSE(fs::exists(Dir("a")));

  // Fast path: a directory that is no checkpoint.
  fs::create_directories(Dir("empty"));
  auto not_checkpoint =
      RocksStateBackend::Restore(Dir("b"), kTables, {Source{Dir("empty"), 0, kMaxParallelism - 1}},
                                 0, kMaxParallelism - 1, options_);
  ASSERT_FALSE(not_checkpoint.ok());
  EXPECT_NE(not_checkpoint.status().message().find(Dir("empty") + " is not a state checkpoint"),
            std::string::npos)
      << not_checkpoint.status().message();
  EXPECT_FALSE(fs::exists(Dir("b")));

  // Sources holding the same key groups, a bad range, a directory in use.
  auto overlapping = RocksStateBackend::Restore(
      Dir("c"), kTables, {good, Source{Dir("other"), 60, 70}}, 0, kMaxParallelism - 1);
  ASSERT_FALSE(overlapping.ok());
  EXPECT_NE(overlapping.status().message().find("hold the same key groups"), std::string::npos);
  EXPECT_FALSE(RocksStateBackend::Restore(Dir("d"), kTables, {good}, 5, 4).ok());
  fs::create_directories(Dir("used"));
  { std::ofstream(Dir("used") + "/file") << "x"; }
  auto used = RocksStateBackend::Restore(Dir("used"), kTables, {good}, good.first_key_group,
                                         good.last_key_group);
  ASSERT_FALSE(used.ok());
  EXPECT_EQ(used.status().message(),
            "restoring state at " + Dir("used") + ": the directory is not empty");
  EXPECT_TRUE(fs::exists(Dir("used") + "/file"));
}

// A task holding two keyed operators takes each one's tables from the old tasks that ran it
// (here two tasks of the same key groups, one per operator), and its checkpoint, holding both,
// gives each operator's tables back to tasks that hold one of them. Only a source that gives
// every table of the same key groups is cloned (and is the new instance's first base).
TEST_F(RestoreTest, EachOperatorsTablesComeFromTheSourcesThatHoldIt) {
  const std::vector<std::string> both = {"op4", "op4#timers", "op5", "op5#timers"};
  const std::vector<std::string> op5 = {"op5", "op5#timers"};
  const Contents job = Job();
  const Source first = Checkpointed(job, 0, 1, "first");  // op4's, in tables 0 and 1
  // op5's task: the same entries with other values, in its own tables.
  Contents second;
  auto other = RocksStateBackend::Open(Dir("second-live"), op5, options_);
  ASSERT_TRUE(other.ok()) << other.status().message();
  std::vector<Mutation> writes;
  for (const auto &[where, value] : job) {
    const auto &[table, key_group, key] = where;
    second[{table + 2, key_group, key}] = value + "5";
    writes.push_back(Mutation{table, key_group, key, value + "5"});
  }
  ASSERT_TRUE((*other)->Write(writes).ok());
  ASSERT_TRUE((*other)->Checkpoint(Dir("second")).ok());

  Source from_first = first, from_second{Dir("second"), 0, kMaxParallelism - 1, op5};
  from_first.tables = {"op4", "op4#timers"};
  auto chained = RocksStateBackend::Restore(Dir("chained"), both, {from_first, from_second}, 0,
                                            kMaxParallelism - 1, options_);
  ASSERT_TRUE(chained.ok()) << chained.status().message();
  Contents expected = job;
  expected.insert(second.begin(), second.end());
  EXPECT_EQ(ContentsOf(**chained), expected);
  EXPECT_EQ((*chained)->cloned_from(), "");
  ASSERT_TRUE((*chained)->Checkpoint(Dir("chained-checkpoint")).ok());

  // The chained task's checkpoint: op5 alone at parallelism 2, and both again at 1 (cloned).
  const Source whole{Dir("chained-checkpoint"), 0, kMaxParallelism - 1, both};
  Source op5_only = whole;
  op5_only.tables = op5;
  auto half = RocksStateBackend::Restore(Dir("half"), op5, {op5_only}, RangeOf(1, 2).first,
                                         RangeOf(1, 2).last, options_);
  ASSERT_TRUE(half.ok()) << half.status().message();
  Contents half_expected;
  for (const auto &[where, value] : Slice(second, RangeOf(1, 2))) {
    half_expected[{std::get<0>(where) - 2, std::get<1>(where), std::get<2>(where)}] = value;
  }
  EXPECT_EQ(ContentsOf(**half), half_expected);
  auto again = RocksStateBackend::Restore(Dir("again"), both, {whole}, 0, kMaxParallelism - 1,
                                          options_);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(ContentsOf(**again), expected);
  EXPECT_EQ((*again)->cloned_from(), Dir("chained-checkpoint"));

  // Two sources giving the same table of the same key groups are refused.
  auto twice = RocksStateBackend::Restore(Dir("twice"), both, {whole, from_second}, 0,
                                          kMaxParallelism - 1, options_);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("hold the same key groups of a table"),
            std::string::npos)
      << twice.status().message();
}

}  // namespace
}  // namespace sluice::state
