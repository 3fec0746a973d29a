#include "worker/state/rocks_state_backend.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "worker/state/rocks_internal.h"

namespace sluice::state {

using internal::AppendKeyGroup;
using internal::DecodeKeyGroup;
using internal::EncodeKey;
using internal::External;
using internal::kKeyGroupBytes;
using internal::SharedBlockCache;
using internal::TableOptions;

RocksStateBackend::RocksStateBackend(std::string directory, std::vector<std::string> tables)
    : directory_(std::move(directory)), tables_(std::move(tables)) {}

RocksStateBackend::~RocksStateBackend() { Close().IgnoreError(); }

Result<std::unique_ptr<RocksStateBackend>> RocksStateBackend::Open(
    const std::string &directory, const std::vector<std::string> &tables,
    const RocksStateOptions &options) {
  const std::string where = "state backend at " + directory;
  if (directory.empty()) return Status::InvalidArgument("state backend: no directory given");
  std::set<std::string_view> seen;
  for (const std::string &table : tables) {
    if (table.empty() || table == rocksdb::kDefaultColumnFamilyName) {
      return Status::InvalidArgument(where + ": bad table name '" + table +
                                     "' (empty, or RocksDB's reserved \"default\")");
    }
    if (!seen.insert(table).second) {
      return Status::InvalidArgument(where + ": table '" + table + "' given twice");
    }
  }
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) return Status::External(where + ": cannot create the directory: " + error.message());

  std::unique_ptr<RocksStateBackend> backend(new RocksStateBackend(directory, tables));
  backend->flush_on_close_ = options.flush_on_close;
  backend->block_cache_ = options.block_cache_bytes == 0
                              ? SharedBlockCache()
                              : internal::NewBlockCache(options.block_cache_bytes);
  const rocksdb::ColumnFamilyOptions cf_options = TableOptions(options, backend->block_cache_);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // A task's files are few; keep them all open instead of a table cache churning descriptors.
  db_options.max_open_files = -1;
  // (RocksDB itself flushes unpersisted memtables at shutdown unless told not to.)
  db_options.avoid_flush_during_shutdown = !options.flush_on_close;

  // RocksDB must be opened with every column family the directory has: the ones of `tables`
  // first, in order, then the rest.
  std::vector<std::string> existing;
  rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, directory, &existing);
  if (!listed.ok() && !listed.IsIOError() && !listed.IsPathNotFound()) {
    return External(where, listed);  // an unreadable instance, not a new directory
  }
  // A new instance: opened with the default column family only, the tables then created in one
  // call. DB::Open creating each missing one writes and re-reads an OPTIONS file per table
  // (~1 ms each); CreateColumnFamilies writes one for all.
  const bool fresh = existing.empty();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  if (!fresh) {
    for (const std::string &table : tables) descriptors.emplace_back(table, cf_options);
  }
  bool has_default = false;
  for (const std::string &name : existing) {
    if (name == rocksdb::kDefaultColumnFamilyName) has_default = true;
    if (seen.count(name) == 0) descriptors.emplace_back(name, cf_options);
  }
  if (!has_default) descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);

  std::vector<rocksdb::ColumnFamilyHandle *> handles;
  rocksdb::DB *db = nullptr;
  rocksdb::Status opened = rocksdb::DB::Open(db_options, directory, descriptors, &handles, &db);
  if (!opened.ok()) return External(where, opened);
  backend->db_.reset(db);
  if (fresh) {
    backend->other_handles_ = std::move(handles);  // the default column family
    if (!tables.empty()) {
      rocksdb::Status created = db->CreateColumnFamilies(cf_options, tables, &backend->handles_);
      if (!created.ok()) return External(where + ": creating its tables", created);
    }
    return backend;
  }
  backend->handles_.assign(handles.begin(), handles.begin() + tables.size());
  backend->other_handles_.assign(handles.begin() + tables.size(), handles.end());
  return backend;
}

Status RocksStateBackend::Keep(std::vector<Mutation> &mutations, bool movable, Layer &layer) {
  for (const Mutation &mutation : mutations) {
    SLUICE_RETURN_IF_ERROR(CheckKeyGroup(mutation.table, mutation.key_group));
  }
  const bool counted = &layer == &kept_;
  for (Mutation &mutation : mutations) {
    std::string encoded;
    encoded.reserve(kKeyGroupBytes + mutation.key.size());
    AppendKeyGroup(mutation.key_group, &encoded);
    encoded.append(mutation.key);
    auto [it, added] = movable ? layer[mutation.table].insert_or_assign(
                                     std::move(encoded), std::move(mutation.value))
                               : layer[mutation.table].insert_or_assign(std::move(encoded),
                                                                        mutation.value);
    if (added && counted) ++kept_count_;
  }
  return Status::Ok();
}

Status RocksStateBackend::Close() {
  if (db_ == nullptr) return Status::Ok();
  // Mutations kept during a checkpoint that never thawed (the owner waits for WriteCheckpoint
  // before it closes) go in first.
  Status result = flush_on_close_ ? Thaw() : Status::Ok();
  // The WAL is off, so whatever is only in memtables would be lost: flush it to files.
  std::vector<rocksdb::ColumnFamilyHandle *> all = handles_;
  all.insert(all.end(), other_handles_.begin(), other_handles_.end());
  if (flush_on_close_) {
    rocksdb::Status flushed = db_->Flush(rocksdb::FlushOptions(), all);
    if (!flushed.ok() && result.ok())
      result = External("state backend at " + directory_ + ": flush on close", flushed);
  }
  for (rocksdb::ColumnFamilyHandle *handle : all) {
    db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
  }
  handles_.clear();
  other_handles_.clear();
  rocksdb::Status closed = db_->Close();
  if (!closed.ok() && result.ok()) result = External("state backend at " + directory_, closed);
  db_.reset();
  return result;
}

Status RocksStateBackend::CheckOpen() const {
  if (db_ == nullptr) {
    return Status::FailedPrecondition("state backend at " + directory_ + " is closed");
  }
  return Status::Ok();
}

Status RocksStateBackend::CheckTable(uint32_t table) const {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (table >= tables_.size()) {
    return Status::Internal("state backend at " + directory_ + ": no table " +
                            std::to_string(table) + " (it has " + std::to_string(tables_.size()) +
                            ")");
  }
  return Status::Ok();
}

Status RocksStateBackend::CheckKeyGroup(uint32_t table, uint32_t key_group) const {
  SLUICE_RETURN_IF_ERROR(CheckTable(table));
  if (key_group >= kMaxKeyGroups) {
    return Status::Internal(Where(table) + ": key group " + std::to_string(key_group) +
                            " is out of range (at most " + std::to_string(kMaxKeyGroups) +
                            " key groups)");
  }
  return Status::Ok();
}

std::string RocksStateBackend::Where(uint32_t table) const {
  return "state backend at " + directory_ + ", table '" + tables_[table] + "'";
}

Result<std::optional<std::string>> RocksStateBackend::Get(uint32_t table, uint32_t key_group,
                                                          std::string_view key) {
  SLUICE_RETURN_IF_ERROR(CheckKeyGroup(table, key_group));
  const std::string encoded = EncodeKey(key_group, key);
  if (frozen_ || collecting_) {
    if (const std::optional<std::string> *kept = FindKept(table, encoded)) return *kept;
  }
  rocksdb::PinnableSlice value;
  rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), handles_[table], encoded, &value);
  if (got.IsNotFound()) return std::optional<std::string>();
  if (!got.ok()) return External(Where(table), got);
  return std::optional<std::string>(value.ToString());
}

Status RocksStateBackend::Write(std::vector<Mutation> &&mutations) {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (frozen_) return Keep(mutations, true, kept_);
  if (collecting_) {
    for (const Mutation &mutation : mutations) {
      SLUICE_RETURN_IF_ERROR(CheckKeyGroup(mutation.table, mutation.key_group));
    }
    snapshot_.push_back(std::move(mutations));
    return Status::Ok();
  }
  return Write(static_cast<const std::vector<Mutation> &>(mutations));
}

Status RocksStateBackend::WriteSnapshot(std::vector<Mutation> &&mutations) {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (!frozen_ && !collecting_) return Write(std::move(mutations));
  if (snapshot_written_) {
    return Status::FailedPrecondition("state backend at " + directory_ +
                                      ": the checkpoint's state is written already");
  }
  for (const Mutation &mutation : mutations) {
    SLUICE_RETURN_IF_ERROR(CheckKeyGroup(mutation.table, mutation.key_group));
  }
  if (!mutations.empty()) snapshot_.push_back(std::move(mutations));
  return Status::Ok();
}

Status RocksStateBackend::Scan(uint32_t table, const Visitor &visit) {
  SLUICE_RETURN_IF_ERROR(CheckTable(table));
  if (frozen_ || collecting_) {
    return Status::FailedPrecondition(Where(table) + ": cannot be listed during a checkpoint");
  }
  return ForEachInRange(table, 0, kMaxKeyGroups - 1, visit);
}

Status RocksStateBackend::Write(const std::vector<Mutation> &mutations) {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (frozen_ || collecting_) {
    std::vector<Mutation> copy = mutations;
    return Write(std::move(copy));
  }
  rocksdb::WriteBatch batch;
  std::string encoded;
  for (const Mutation &mutation : mutations) {
    SLUICE_RETURN_IF_ERROR(CheckKeyGroup(mutation.table, mutation.key_group));
    encoded.clear();
    AppendKeyGroup(mutation.key_group, &encoded);
    encoded.append(mutation.key);
    SLUICE_RETURN_IF_ERROR(AddToBatch(mutation, encoded, &batch));
  }
  return WriteBatchToDb(&batch, "");
}

Status RocksStateBackend::AddToBatch(const Mutation &mutation, const std::string &encoded,
                                     rocksdb::WriteBatch *batch) {
  rocksdb::ColumnFamilyHandle *handle = handles_[mutation.table];
  rocksdb::Status added = mutation.value.has_value() ? batch->Put(handle, encoded, *mutation.value)
                                                     : batch->Delete(handle, encoded);
  if (!added.ok()) return External(Where(mutation.table), added);
  return Status::Ok();
}

Status RocksStateBackend::WriteBatchToDb(rocksdb::WriteBatch *batch, const std::string &what) {
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  rocksdb::Status written = db_->Write(write_options, batch);
  if (!written.ok()) {
    return External("state backend at " + directory_ + ": writing " +
                        std::to_string(batch->Count()) + " entries" + what,
                    written);
  }
  return Status::Ok();
}

Status RocksStateBackend::Checkpoint(const std::string &directory) {
  SLUICE_RETURN_IF_ERROR(Freeze());
  Result<CheckpointStats> written = WriteCheckpoint(directory, "");
  Status thawed = Thaw();
  if (!written.ok()) return written.status();
  return thawed;
}

Status RocksStateBackend::BeginSnapshot() {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (frozen_ || collecting_) {
    return Status::FailedPrecondition("state backend at " + directory_ +
                                      " is frozen already (a checkpoint is being written)");
  }
  collecting_ = true;
  snapshot_written_ = false;
  snapshot_.clear();
  snapshot_indexed_ = 0;
  return Status::Ok();
}

Status RocksStateBackend::Freeze() {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (frozen_) {
    return Status::FailedPrecondition("state backend at " + directory_ +
                                      " is frozen already (a checkpoint is being written)");
  }
  if (!collecting_) {
    snapshot_.clear();
    snapshot_indexed_ = 0;
    snapshot_written_ = false;
  }
  collecting_ = false;
  frozen_ = true;
  kept_.assign(tables_.size(), {});
  kept_count_ = 0;
  return Status::Ok();
}

Status RocksStateBackend::WriteLayer(const Layer &layer, const std::string &what) {
  rocksdb::WriteBatch batch;
  for (size_t table = 0; table < layer.size(); ++table) {
    for (const auto &[key, value] : layer[table]) {
      rocksdb::Status added = value.has_value() ? batch.Put(handles_[table], key, *value)
                                                : batch.Delete(handles_[table], key);
      if (!added.ok()) return External(Where(static_cast<uint32_t>(table)), added);
    }
  }
  if (batch.Count() == 0) return Status::Ok();
  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  rocksdb::Status written = db_->Write(write_options, &batch);
  if (!written.ok()) {
    return External("state backend at " + directory_ + ": writing " +
                        std::to_string(batch.Count()) + " entries " + what,
                    written);
  }
  return Status::Ok();
}

Status RocksStateBackend::Thaw() {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  if (!frozen_ && !collecting_) return Status::Ok();
  if (!snapshot_written_) {
    SLUICE_RETURN_IF_ERROR(WriteSnapshot());
    snapshot_written_ = true;
  }
  SLUICE_RETURN_IF_ERROR(WriteLayer(kept_, "kept during a checkpoint"));
  snapshot_.clear();
  snapshot_index_.clear();
  snapshot_indexed_ = 0;
  kept_.clear();
  kept_count_ = 0;
  collecting_ = false;
  frozen_ = false;
  return Status::Ok();
}

Status RocksStateBackend::WriteSnapshot() {
  rocksdb::WriteBatch batch;
  for (const std::vector<Mutation> &mutations : snapshot_) {
    for (const Mutation &mutation : mutations) {
      const std::string encoded = EncodeKey(mutation.key_group, mutation.key);
      SLUICE_RETURN_IF_ERROR(AddToBatch(mutation, encoded, &batch));
    }
  }
  if (batch.Count() == 0) return Status::Ok();
  return WriteBatchToDb(&batch, " of a checkpoint's snapshot");
}

const std::optional<std::string> *RocksStateBackend::FindKept(uint32_t table,
                                                              const std::string &encoded) {
  if (frozen_) {
    auto kept = kept_[table].find(encoded);
    if (kept != kept_[table].end()) return &kept->second;
  }
  if (snapshot_.empty()) return nullptr;
  if (snapshot_indexed_ == 0) snapshot_index_.assign(tables_.size(), {});
  for (; snapshot_indexed_ < snapshot_.size(); ++snapshot_indexed_) {
    for (const Mutation &mutation : snapshot_[snapshot_indexed_]) {
      snapshot_index_[mutation.table].insert_or_assign(EncodeKey(mutation.key_group, mutation.key),
                                                       &mutation.value);
    }
  }
  auto taken = snapshot_index_[table].find(encoded);
  return taken == snapshot_index_[table].end() ? nullptr : taken->second;
}

Status RocksStateBackend::ForEachInRange(uint32_t table, uint32_t first, uint32_t last,
                                         const Visitor &visit) {
  SLUICE_RETURN_IF_ERROR(CheckKeyGroup(table, last));
  if (first > last) {
    return Status::Internal(Where(table) + ": key-group range [" + std::to_string(first) + ", " +
                            std::to_string(last) + "] is empty");
  }
  std::string lower;
  AppendKeyGroup(first, &lower);
  std::string upper;
  const bool bounded = last + 1 < kMaxKeyGroups;
  if (bounded) AppendKeyGroup(last + 1, &upper);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions read_options;
  read_options.fill_cache = false;
  if (bounded) read_options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options, handles_[table]));
  for (it->Seek(lower); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    if (key.size() < kKeyGroupBytes) {
      return Status::External(Where(table) + ": an entry whose key has no key group");
    }
    const rocksdb::Slice value = it->value();
    SLUICE_RETURN_IF_ERROR(
        visit(DecodeKeyGroup(key),
              std::string_view(key.data() + kKeyGroupBytes, key.size() - kKeyGroupBytes),
              std::string_view(value.data(), value.size())));
  }
  if (!it->status().ok()) return External(Where(table), it->status());
  return Status::Ok();
}

}  // namespace sluice::state
