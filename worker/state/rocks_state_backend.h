#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "worker/state/state_backend.h"
#include "worker/state/key_groups.h"

namespace rocksdb {
class Cache;
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace sluice::state {

struct RocksStateOptions {
  // 0: every backend of the process shares one LRU block cache of kSharedBlockCacheBytes (a
  // worker runs many tasks; one budget for all of them). Otherwise a private cache of this size.
  size_t block_cache_bytes = 0;
  // Bits per key of the tables' bloom filters (~1 % false positives at 10).
  double bloom_bits_per_key = 10;
  // The memtable size of each table (column family) before it is flushed to a file.
  size_t write_buffer_bytes = size_t{16} << 20;
  // Close() flushes the memtables into files, so that Open() finds everything again. A task's
  // live instance is never opened again (a task restarts from a checkpoint, and its directory
  // goes with it): false skips that flush.
  bool flush_on_close = true;
};

inline constexpr size_t kSharedBlockCacheBytes = size_t{256} << 20;

// What RocksStateBackend::Restore reads: a directory Checkpoint() wrote, the key groups
// [first_key_group, last_key_group] its task owned, and the tables to take from it (empty: every
// table). A task holding several keyed operators may take each one's tables from other
// checkpoints (the old tasks that ran it).
struct RestoreSource {
  std::string path;
  uint32_t first_key_group = 0;
  uint32_t last_key_group = 0;
  std::vector<std::string> tables = {};
};

// What WriteCheckpoint wrote: the bytes of every file of the checkpoint (full) and of those it
// did not share with its base (incremental: written, or linked from the live instance), and
// how many files each.
struct CheckpointStats {
  uint64_t full_bytes = 0;
  uint64_t incremental_bytes = 0;
  uint32_t files = 0;
  uint32_t shared_files = 0;  // hard-linked from the base checkpoint
};

// The keyed state of one task in one RocksDB instance: a column family per table (a stateful
// operator, named by its operator id), keys = key group (2 bytes big-endian) + the key string's
// UTF-8 bytes, values = the JSON text the isolate's cache wrote. Writes skip the WAL: state is
// made durable by Checkpoint(), and after a crash a task restarts from its last checkpoint, never
// from the live directory.
//
// Created by Open() on the task's thread when the task starts; owned by the task; closed by
// Close() or the destructor. Used by one thread at a time (the task's, "the owner"), except
// WriteCheckpoint, which one other thread may run while the instance is frozen (see Freeze).
// Errors are external-domain Statuses naming the directory and, where there is one, the table.
class RocksStateBackend final : public StateBackend {
 public:
  // What ForEachInRange and Scan visit (StateBackend::Visitor): one entry, its key group and
  // key (without the prefix) and value. Returning a non-ok Status stops the iteration with it.

  // Opens (creating if needed) the instance in `directory` with one column family per table, in
  // the order given (table index i = tables[i]). Column families of the directory that are not
  // in `tables` (operators a changed job no longer has) are kept but not used.
  static Result<std::unique_ptr<RocksStateBackend>> Open(const std::string &directory,
                                                         const std::vector<std::string> &tables,
                                                         const RocksStateOptions &options = {});

  // Opens a new instance at `directory` (which must not exist, or be empty) holding the entries
  // of `sources` whose key group lies in [first_key_group, last_key_group], as Open(directory,
  // tables) would open it. The sources are only read: a checkpoint may be restored again, by
  // several tasks at once.
  //  - One source with exactly these key groups and every table (the task's parallelism and
  //    chaining did not change): its
  //    SST files are hard-linked (copied where the file system cannot link) and its other files
  //    copied into `directory`, which is then opened.
  //  - Otherwise (rescaling) each source that overlaps the range is opened read-only and the
  //    entries of the key groups in both are copied, table by table, in write batches.
  // A table a source does not have is empty there; sources that give the same table must not
  // overlap in key groups.
  // Errors name the source's path and the table. On failure `directory` is removed.
  static Result<std::unique_ptr<RocksStateBackend>> Restore(
      const std::string &directory, const std::vector<std::string> &tables,
      const std::vector<RestoreSource> &sources, uint32_t first_key_group, uint32_t last_key_group,
      const RocksStateOptions &options = {});

  ~RocksStateBackend() override;
  RocksStateBackend(const RocksStateBackend &) = delete;
  RocksStateBackend &operator=(const RocksStateBackend &) = delete;

  Result<std::optional<std::string>> Get(uint32_t table, uint32_t key_group,
                                         std::string_view key) override;
  Status Write(const std::vector<Mutation> &mutations) override;
  Status Write(std::vector<Mutation> &&mutations) override;
  // Frozen (or collecting, see BeginSnapshot): the mutations join the snapshot's layer, which
  // WriteCheckpoint writes (so the owner must not call this once WriteCheckpoint may run);
  // later Write()s still win over them. Otherwise a Write().
  Status WriteSnapshot(std::vector<Mutation> &&mutations) override;
  // Every entry of `table` (not while frozen or collecting: FailedPrecondition).
  Status Scan(uint32_t table, const Visitor &visit) override;

  // Writes a consistent, openable copy of every table to `directory`, which must not exist yet
  // (its parent must): Freeze(), WriteCheckpoint(directory, ""), Thaw() on the calling thread.
  Status Checkpoint(const std::string &directory);

  // Asynchronous checkpoints, in three steps (see README.md, "Checkpoint"):
  //  0. Optionally BeginSnapshot(), on the owner's thread: the writes until Freeze() (the state
  //     cache's flush) are kept in memory as the snapshot's layer (Get() reads them back) and
  //     written to RocksDB by WriteCheckpoint, off the owner's thread. Or, after Freeze(),
  //     WriteSnapshot() adds to that layer (a copy-on-write cache writing the state it had at
  //     the barrier in parts), until WriteCheckpoint starts.
  //  1. Freeze(), on the owner's thread, once the instance (with the snapshot's layer) holds
  //     everything the checkpoint must hold. From then on Write() keeps its mutations in memory
  //     instead of writing them (Get() reads them back first), so RocksDB gets exactly the
  //     checkpoint's state.
  //  2. WriteCheckpoint(directory, base), on one other thread, while the owner goes on with
  //     Get() and Write(): writes the snapshot's layer, flushes the memtables and writes an
  //     openable copy of every table to `directory` (must not exist; its parent must), through
  //     `directory`.tmp and a rename.
  //     SST files are immutable: one that `base` (a checkpoint this instance wrote before, or
  //     the one it was restored from; "" for none) holds with the same name and size is
  //     hard-linked from there (shared, not written again); the others are hard-linked from the
  //     live instance where the file systems allow, else copied and synced.
  //  3. Thaw(), on the owner's thread, after WriteCheckpoint returned (or instead of it): writes
  //     the snapshot's layer if WriteCheckpoint did not, then the kept mutations, and unfreezes.
  //     An error leaves the instance frozen.
  // BeginSnapshot() or Freeze() on a frozen instance is a FailedPrecondition; so is
  // WriteCheckpoint on one that is not frozen.
  Status BeginSnapshot();
  Status Freeze();
  Result<CheckpointStats> WriteCheckpoint(const std::string &directory, const std::string &base);
  Status Thaw();
  bool frozen() const { return frozen_; }
  // Mutations kept while frozen (distinct keys).
  size_t kept_mutations() const { return kept_count_; }

  // Visits the entries of `table` whose key group lies in [first, last], in key order (key group,
  // then key bytes), from a consistent view taken when the call starts. Bulk reads do not fill
  // the block cache.
  Status ForEachInRange(uint32_t table, uint32_t first, uint32_t last, const Visitor &visit);

  // Flushes the memtables (nothing is in a WAL; unless flush_on_close is false) and closes the
  // instance; later calls fail. The destructor does this too, ignoring errors.
  Status Close();

  const std::string &directory() const { return directory_; }
  // The checkpoint Restore cloned this instance from (its fast path: the live SST files are
  // that checkpoint's), a base for WriteCheckpoint; "" when the instance was made otherwise.
  const std::string &cloned_from() const { return cloned_from_; }
  const std::vector<std::string> &tables() const { return tables_; }

 private:
  RocksStateBackend(std::string directory, std::vector<std::string> tables);

  // Restore's copy of the entries of `source` (its tables, those of its key groups in
  // `key_groups`) into this (fresh) instance.
  Status CopyFrom(const RestoreSource &source, KeyGroupRange key_groups,
                  const RocksStateOptions &options);

  // Per table, encoded key -> the value kept (nullopt: a deletion).
  using Layer = std::vector<std::unordered_map<std::string, std::optional<std::string>>>;
  // Write() while collecting or frozen: keeps the mutations in `layer` (validated first, all or
  // none); moves their values when `movable`.
  Status Keep(std::vector<Mutation> &mutations, bool movable, Layer &layer);
  // Writes a layer to RocksDB in one batch; `what` names it in errors.
  Status WriteLayer(const Layer &layer, const std::string &what);
  // The snapshot's layer into RocksDB: on WriteCheckpoint's thread, each table's entries sorted
  // into an SST file that is ingested (no memtable inserts); in Thaw, when WriteCheckpoint did
  // not run, in one write batch.
  Status IngestSnapshot(const std::string &where);
  Status WriteSnapshot();
  // One mutation (its key already encoded) into `batch`; then the batch into the live DB
  // without a WAL, an error naming the entries and `what` they were.
  Status AddToBatch(const Mutation &mutation, const std::string &encoded,
                    rocksdb::WriteBatch *batch);
  Status WriteBatchToDb(rocksdb::WriteBatch *batch, const std::string &what);
  // Get() while collecting or frozen: the kept value, if any.
  const std::optional<std::string> *FindKept(uint32_t table, const std::string &encoded);
  Status CheckOpen() const;
  Status CheckTable(uint32_t table) const;
  Status CheckKeyGroup(uint32_t table, uint32_t key_group) const;
  std::string Where(uint32_t table) const;

  std::string directory_;
  std::vector<std::string> tables_;
  std::string cloned_from_;
  bool flush_on_close_ = true;
  std::shared_ptr<rocksdb::Cache> block_cache_;
  std::unique_ptr<rocksdb::DB> db_;
  // handles_[i] is tables_[i]; other_handles_ the column families not in tables_ (and
  // "default"), which must stay open with the instance.
  std::vector<rocksdb::ColumnFamilyHandle *> handles_;
  std::vector<rocksdb::ColumnFamilyHandle *> other_handles_;
  // collecting_: between BeginSnapshot and Freeze, writes go to snapshot_; frozen_: between
  // Freeze and Thaw, they go to kept_. snapshot_written_: WriteCheckpoint wrote snapshot_ to
  // RocksDB (set on its thread; read by the owner after it joined that thread).
  bool collecting_ = false;
  bool frozen_ = false;
  bool snapshot_written_ = false;
  // The snapshot's layer as Write() got it (the mutations are not copied), and Get()'s index of
  // it, made by the owner at the first Get that needs it (pointers into snapshot_'s inner
  // vectors, which do not move) and grown by later Gets: it holds snapshot_[0, indexed_).
  std::vector<std::vector<Mutation>> snapshot_;
  std::vector<std::unordered_map<std::string, const std::optional<std::string> *>> snapshot_index_;
  size_t snapshot_indexed_ = 0;
  Layer kept_;
  size_t kept_count_ = 0;
};

}  // namespace sluice::state
