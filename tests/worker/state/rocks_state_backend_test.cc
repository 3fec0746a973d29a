#include "worker/state/rocks_state_backend.h"
#include "tests/common/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace sluice::state {
namespace {

using Mutation = StateBackend::Mutation;

Mutation Put(uint32_t table, uint32_t key_group, std::string key, std::string value) {
  return Mutation{table, key_group, std::move(key), std::move(value)};
}

Mutation Delete(uint32_t table, uint32_t key_group, std::string key) {
  return Mutation{table, key_group, std::move(key), std::nullopt};
}

class RocksStateBackendTest : public ::testing::Test {
 protected:

  // A small private block cache, so tests do not share the process-wide one.
  std::unique_ptr<RocksStateBackend> MustOpen(const std::string &dir,
                                              const std::vector<std::string> &tables) {
    RocksStateOptions options;
    options.block_cache_bytes = size_t{8} << 20;
    Result<std::unique_ptr<RocksStateBackend>> backend =
        RocksStateBackend::Open(dir, tables, options);
    EXPECT_TRUE(backend.ok()) << backend.status().message();
    return backend.ok() ? std::move(backend).value() : nullptr;
  }

  std::optional<std::string> MustGet(RocksStateBackend &backend, uint32_t table, uint32_t key_group,
                                     std::string_view key) {
    Result<std::optional<std::string>> value = backend.Get(table, key_group, key);
    EXPECT_TRUE(value.ok()) << value.status().message();
    return value.ok() ? *value : std::nullopt;
  }

  std::string Dir(const std::string &name) const { return (root_ / name).string(); }

  sluice::testing::TempDir temp_{"sluice-state-test"};
  std::filesystem::path root_ = temp_.path();
};

TEST_F(RocksStateBackendTest, GetsWhatWasPutAndNothingAfterDelete) {
  auto backend = MustOpen(Dir("db"), {"op1"});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(MustGet(*backend, 0, 3, "a"), std::nullopt);
  ASSERT_TRUE(backend->Write({Put(0, 3, "a", R"({"n":1})"), Put(0, 3, "b", "2")}).ok());
  EXPECT_EQ(MustGet(*backend, 0, 3, "a"), R"({"n":1})");
  EXPECT_EQ(MustGet(*backend, 0, 3, "b"), "2");
  // Same key string, another key group: another entry.
  EXPECT_EQ(MustGet(*backend, 0, 4, "a"), std::nullopt);

  // Mutations apply in order: a put then a delete of one key leaves nothing.
  ASSERT_TRUE(backend->Write({Put(0, 3, "a", "3"), Delete(0, 3, "a"), Put(0, 3, "b", "4")}).ok());
  EXPECT_EQ(MustGet(*backend, 0, 3, "a"), std::nullopt);
  EXPECT_EQ(MustGet(*backend, 0, 3, "b"), "4");
}

TEST_F(RocksStateBackendTest, KeepsBinaryAndUnicodeKeysAndEmptyValues) {
  auto backend = MustOpen(Dir("db"), {"op1"});
  ASSERT_NE(backend, nullptr);
  const std::string nul_key("a\0b", 3);
  ASSERT_TRUE(
      backend
          ->Write({Put(0, 65535, "ключ", "\"v\""), Put(0, 0, nul_key, ""), Put(0, 0, "a", "other")})
          .ok());
  EXPECT_EQ(MustGet(*backend, 0, 65535, "ключ"), "\"v\"");
  EXPECT_EQ(MustGet(*backend, 0, 0, nul_key), "");
  EXPECT_EQ(MustGet(*backend, 0, 0, "a"), "other");
}

// A task's live instance is never opened again: without flush_on_close, Close() writes no file.
TEST_F(RocksStateBackendTest, ClosesWithoutFlushingWhenToldTo) {
  RocksStateOptions options;
  options.block_cache_bytes = size_t{8} << 20;
  options.flush_on_close = false;
  auto backend = RocksStateBackend::Open(Dir("task"), {"op1"}, options);
  ASSERT_TRUE(backend.ok());
  ASSERT_TRUE((*backend)->Write({Put(0, 3, "a", "1")}).ok());
  ASSERT_TRUE((*backend)->Close().ok());
  size_t ssts = 0;
  for (const auto &entry : std::filesystem::directory_iterator(Dir("task"))) {
    if (entry.path().extension() == ".sst") ++ssts;
  }
  EXPECT_EQ(ssts, 0u);
  auto flushing = MustOpen(Dir("flushing"), {"op1"});
  ASSERT_TRUE(flushing->Write({Put(0, 3, "a", "1")}).ok());
  ASSERT_TRUE(flushing->Close().ok());
  EXPECT_EQ(MustGet(*MustOpen(Dir("flushing"), {"op1"}), 0, 3, "a"), "1");
}

TEST_F(RocksStateBackendTest, TablesAreIsolated) {
  auto backend = MustOpen(Dir("db"), {"op1", "op7"});
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->Write({Put(0, 1, "k", "in op1"), Put(1, 1, "k", "in op7")}).ok());
  EXPECT_EQ(MustGet(*backend, 0, 1, "k"), "in op1");
  EXPECT_EQ(MustGet(*backend, 1, 1, "k"), "in op7");
  ASSERT_TRUE(backend->Write({Delete(1, 1, "k")}).ok());
  EXPECT_EQ(MustGet(*backend, 0, 1, "k"), "in op1");
  EXPECT_EQ(MustGet(*backend, 1, 1, "k"), std::nullopt);
}

TEST_F(RocksStateBackendTest, ReopensWithTablesInAnotherOrderAndNewOnes) {
  {
    auto backend = MustOpen(Dir("db"), {"op1", "op2"});
    ASSERT_NE(backend, nullptr);
    ASSERT_TRUE(backend->Write({Put(0, 9, "k", "one"), Put(1, 9, "k", "two")}).ok());
    ASSERT_TRUE(backend->Close().ok());
    EXPECT_EQ(backend->Get(0, 9, "k").status().code(), StatusCode::kFailedPrecondition);
  }
  {
    // The index follows the order given; op1 is still there though no longer used.
    auto backend = MustOpen(Dir("db"), {"op2", "op3"});
    ASSERT_NE(backend, nullptr);
    EXPECT_EQ(MustGet(*backend, 0, 9, "k"), "two");
    EXPECT_EQ(MustGet(*backend, 1, 9, "k"), std::nullopt);
    ASSERT_TRUE(backend->Write({Put(1, 9, "k", "three")}).ok());
  }  // closed by the destructor
  auto backend = MustOpen(Dir("db"), {"op1", "op2", "op3"});
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(MustGet(*backend, 0, 9, "k"), "one");
  EXPECT_EQ(MustGet(*backend, 1, 9, "k"), "two");
  EXPECT_EQ(MustGet(*backend, 2, 9, "k"), "three");
}

TEST_F(RocksStateBackendTest, IteratesTheKeyGroupsOfARangeInOrder) {
  auto backend = MustOpen(Dir("db"), {"op1", "op2"});
  ASSERT_NE(backend, nullptr);
  std::vector<Mutation> writes;
  for (uint32_t group : {0u, 1u, 5u, 6u, 7u, 255u, 256u, 65535u}) {
    writes.push_back(Put(0, group, "b" + std::to_string(group), "v" + std::to_string(group)));
    writes.push_back(Put(0, group, "a" + std::to_string(group), "w" + std::to_string(group)));
    writes.push_back(Put(1, group, "other", "x"));
  }
  writes.push_back(Delete(0, 6, "a6"));
  ASSERT_TRUE(backend->Write(writes).ok());

  using Entry = std::tuple<uint32_t, std::string, std::string>;
  auto collect = [&](uint32_t first, uint32_t last) {
    std::vector<Entry> seen;
    Status status = backend->ForEachInRange(
        0, first, last, [&](uint32_t group, std::string_view key, std::string_view value) {
          seen.emplace_back(group, std::string(key), std::string(value));
          return Status::Ok();
        });
    EXPECT_TRUE(status.ok()) << status.message();
    return seen;
  };
  EXPECT_EQ(
      collect(5, 7),
      (std::vector<Entry>{
          {5, "a5", "w5"}, {5, "b5", "v5"}, {6, "b6", "v6"}, {7, "a7", "w7"}, {7, "b7", "v7"}}));
  // Key groups are big-endian: 255 sorts before 256, and the last key group is reachable.
  EXPECT_EQ(collect(255, 65535), (std::vector<Entry>{{255, "a255", "w255"},
                                                     {255, "b255", "v255"},
                                                     {256, "a256", "w256"},
                                                     {256, "b256", "v256"},
                                                     {65535, "a65535", "w65535"},
                                                     {65535, "b65535", "v65535"}}));
  EXPECT_EQ(collect(2, 4), std::vector<Entry>{});
  EXPECT_EQ(collect(0, 65535).size(), 15u);

  // The visitor's error stops the iteration and comes back.
  int visited = 0;
  Status stopped = backend->ForEachInRange(0, 0, 65535, [&](uint32_t, auto, auto) {
    return ++visited == 3 ? Status::Internal("enough") : Status::Ok();
  });
  EXPECT_EQ(stopped.message(), "enough");
  EXPECT_EQ(visited, 3);
}

TEST_F(RocksStateBackendTest, CheckpointIsAConsistentOpenableCopy) {
  auto backend = MustOpen(Dir("db"), {"op1", "op2"});
  ASSERT_NE(backend, nullptr);
  std::vector<Mutation> writes;
  for (int i = 0; i < 2000; ++i) {
    writes.push_back(Put(i % 2, i % 128, "key" + std::to_string(i), "value" + std::to_string(i)));
  }
  ASSERT_TRUE(backend->Write(writes).ok());
  ASSERT_TRUE(backend->Checkpoint(Dir("chk-1")).ok());
  // Later writes change the live instance, not the checkpoint.
  ASSERT_TRUE(
      backend->Write({Put(0, 0, "key0", "changed"), Delete(1, 1, "key1"), Put(0, 0, "new", "n")})
          .ok());

  auto copy = MustOpen(Dir("chk-1"), {"op1", "op2"});
  ASSERT_NE(copy, nullptr);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(MustGet(*copy, i % 2, i % 128, "key" + std::to_string(i)),
              "value" + std::to_string(i));
  }
  EXPECT_EQ(MustGet(*copy, 0, 0, "new"), std::nullopt);
  EXPECT_EQ(MustGet(*backend, 0, 0, "key0"), "changed");
  EXPECT_EQ(MustGet(*backend, 1, 1, "key1"), std::nullopt);
}

TEST_F(RocksStateBackendTest, CheckpointIntoAnExistingDirectoryFailsNamingBoth) {
  auto backend = MustOpen(Dir("db"), {"op1"});
  ASSERT_NE(backend, nullptr);
  std::filesystem::create_directories(Dir("taken"));
  Status status = backend->Checkpoint(Dir("taken"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.domain(), ErrorDomain::kExternal);
  EXPECT_NE(status.message().find(Dir("db")), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(Dir("taken")), std::string::npos) << status.message();
}

TEST_F(RocksStateBackendTest, BadArgumentsAreErrorsNamingDirectoryAndTable) {
  auto backend = MustOpen(Dir("db"), {"op1"});
  ASSERT_NE(backend, nullptr);
  Result<std::optional<std::string>> no_table = backend->Get(1, 0, "k");
  ASSERT_FALSE(no_table.ok());
  EXPECT_NE(no_table.status().message().find(Dir("db")), std::string::npos);
  EXPECT_NE(no_table.status().message().find("no table 1"), std::string::npos);

  Status big_group = backend->Write({Put(0, 1, "k", "v"), Put(0, 65536, "k", "v")});
  ASSERT_FALSE(big_group.ok());
  EXPECT_NE(big_group.message().find("table 'op1'"), std::string::npos) << big_group.message();
  EXPECT_NE(big_group.message().find("key group 65536"), std::string::npos);
  // Nothing of a refused batch was written.
  EXPECT_EQ(MustGet(*backend, 0, 1, "k"), std::nullopt);

  EXPECT_FALSE(
      backend->ForEachInRange(0, 5, 4, [](auto, auto, auto) { return Status::Ok(); }).ok());
}

TEST_F(RocksStateBackendTest, OpenRefusesBadTablesAndUnusableDirectories) {
  Result<std::unique_ptr<RocksStateBackend>> twice =
      RocksStateBackend::Open(Dir("db"), {"op1", "op1"});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("table 'op1' given twice"), std::string::npos);
  EXPECT_FALSE(RocksStateBackend::Open(Dir("db"), {"default"}).ok());
  EXPECT_FALSE(RocksStateBackend::Open(Dir("db"), {""}).ok());

  // A file where the directory should be.
  const std::string file = Dir("file");
  {
    std::FILE *f = std::fopen(file.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fclose(f);
  }
  Result<std::unique_ptr<RocksStateBackend>> blocked = RocksStateBackend::Open(file, {"op1"});
  ASSERT_FALSE(blocked.ok());
  EXPECT_EQ(blocked.status().domain(), ErrorDomain::kExternal);
  EXPECT_NE(blocked.status().message().find(file), std::string::npos) << blocked.status().message();
}

TEST_F(RocksStateBackendTest, StateLargerThanMemtablesSurvivesReopen) {
  RocksStateOptions options;
  options.block_cache_bytes = size_t{4} << 20;
  options.write_buffer_bytes = size_t{1} << 20;  // many flushes and some compactions
  const std::string value(100, 'x');
  {
    Result<std::unique_ptr<RocksStateBackend>> backend =
        RocksStateBackend::Open(Dir("db"), {"op1"}, options);
    ASSERT_TRUE(backend.ok()) << backend.status().message();
    for (int chunk = 0; chunk < 50; ++chunk) {
      std::vector<Mutation> writes;
      for (int i = 0; i < 1000; ++i) {
        const int n = chunk * 1000 + i;
        writes.push_back(Put(0, n % 256, std::to_string(n), value + std::to_string(n)));
      }
      ASSERT_TRUE((*backend)->Write(writes).ok());
    }
  }
  Result<std::unique_ptr<RocksStateBackend>> backend =
      RocksStateBackend::Open(Dir("db"), {"op1"}, options);
  ASSERT_TRUE(backend.ok()) << backend.status().message();
  for (int n = 0; n < 50000; ++n) {
    ASSERT_EQ(MustGet(**backend, 0, n % 256, std::to_string(n)), value + std::to_string(n));
  }
}

}  // namespace
}  // namespace sluice::state
