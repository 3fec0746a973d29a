#include "worker/state/rocks_internal.h"

#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>

namespace sluice::state::internal {

void AppendKeyGroup(uint32_t key_group, std::string *out) {
  out->push_back(static_cast<char>((key_group >> 8) & 0xff));
  out->push_back(static_cast<char>(key_group & 0xff));
}

std::string EncodeKey(uint32_t key_group, std::string_view key) {
  std::string encoded;
  encoded.reserve(kKeyGroupBytes + key.size());
  AppendKeyGroup(key_group, &encoded);
  encoded.append(key);
  return encoded;
}

uint32_t DecodeKeyGroup(const rocksdb::Slice &key) {
  return (uint32_t{static_cast<uint8_t>(key[0])} << 8) | static_cast<uint8_t>(key[1]);
}

std::shared_ptr<rocksdb::Cache> NewBlockCache(size_t bytes) {
  // Shards of at least 32 MB (at most 8): a file's filter and index blocks are each one block,
  // which grows with the file (10 bits a key: a 64 MB file of small entries has a filter of
  // several MB, 12 MB at 10,000,000 keys). With RocksDB's default of shards of 512 KB and more
  // (64 shards for 256 MB) such a block did not fit its shard, was dropped at once, and every
  // Get of a new key read it from the file again.
  int shard_bits = 0;
  while (shard_bits < 3 && (bytes >> (shard_bits + 1)) >= (size_t{32} << 20)) ++shard_bits;
  return rocksdb::NewLRUCache(bytes, shard_bits);
}

std::shared_ptr<rocksdb::Cache> SharedBlockCache() {
  // Leaked on purpose: backends may be closed by static destructors after this one would run.
  static auto *cache = new std::shared_ptr<rocksdb::Cache>(NewBlockCache(kSharedBlockCacheBytes));
  return *cache;
}

// Tuning for keyed streaming state: many point reads (a cache miss in the isolate) of keys that
// often do not exist yet (the first record of a key), and writes in chunks (evictions, flushes).
rocksdb::ColumnFamilyOptions TableOptions(const RocksStateOptions &options,
                                          const std::shared_ptr<rocksdb::Cache> &cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  // Whole-key bloom filters in every level: a Get of a new key is answered without reading a
  // data block. Index and filter blocks live in the block cache (bounded memory; see
  // NewBlockCache for its shards), those of L0 pinned since every Get consults them.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(options.bloom_bits_per_key));
  table.whole_key_filtering = true;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // A hash index inside each data block makes point lookups cheaper than a binary search.
  table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
  table.format_version = 5;

  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.write_buffer_size = options.write_buffer_bytes;
  cf.max_write_buffer_number = 3;
  cf.level_compaction_dynamic_level_bytes = true;
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kZSTD;
  return cf;
}

Status External(const std::string &where, const rocksdb::Status &status) {
  // Busy, TryAgain and IO errors may pass; corruption, bad arguments and the like will not.
  const bool retryable =
      status.IsBusy() || status.IsTryAgain() || status.IsIOError() || status.IsTimedOut();
  return Status::External(where + ": " + status.ToString(), retryable);
}

}  // namespace sluice::state::internal
