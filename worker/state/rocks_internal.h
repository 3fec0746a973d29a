#pragma once

// What rocks_state_backend.cc and rocks_restore.cc share: the key encoding, the tuning of every
// table and the mapping of RocksDB errors. Internal to sluice_state.

#include <rocksdb/cache.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/status.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::state::internal {

// A key is the key group as 2 bytes big-endian, then the key string's bytes.
inline constexpr size_t kKeyGroupBytes = 2;
void AppendKeyGroup(uint32_t key_group, std::string *out);
std::string EncodeKey(uint32_t key_group, std::string_view key);
uint32_t DecodeKeyGroup(const rocksdb::Slice &key);

// An LRU block cache of `bytes` whose shards are large enough for a file's filter block.
std::shared_ptr<rocksdb::Cache> NewBlockCache(size_t bytes);

// The LRU block cache every backend of the process shares (kSharedBlockCacheBytes).
std::shared_ptr<rocksdb::Cache> SharedBlockCache();

// The options of every table (column family), with `cache` as its block cache.
rocksdb::ColumnFamilyOptions TableOptions(const RocksStateOptions &options,
                                          const std::shared_ptr<rocksdb::Cache> &cache);

// A RocksDB failure as an external-domain Status "<where>: <RocksDB's message>", retryable when
// RocksDB says it may pass (busy, try again, IO error, timed out).
Status External(const std::string &where, const rocksdb::Status &status);

}  // namespace sluice::state::internal
