// RocksStateBackend::Restore: a task's keyed state out of the checkpoints of the tasks that ran
// its operator before (see README.md, "Restore").
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstdarg>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "worker/state/rocks_internal.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;

// Entries are written to the new instance in batches of about this many bytes.
constexpr size_t kBatchBytes = size_t{4} << 20;

// Read-only opens of a checkpoint must not write to it, not even an info log (several tasks may
// read one checkpoint at once).
class DiscardLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char * /*format*/, va_list /*ap*/) override {}
};

std::string Range(const KeyGroupRange &range) {
  return "[" + std::to_string(range.first) + ", " + std::to_string(range.last) + "]";
}

KeyGroupRange RangeOf(const RestoreSource &source) {
  return KeyGroupRange{source.first_key_group, source.last_key_group};
}

// Whether two sources may give the same table (an empty list gives every table).
bool ShareTables(const RestoreSource &a, const RestoreSource &b) {
  if (a.tables.empty() || b.tables.empty()) return true;
  for (const std::string &name : a.tables) {
    if (std::find(b.tables.begin(), b.tables.end(), name) != b.tables.end()) return true;
  }
  return false;
}

Status CheckArguments(const std::string &where, const std::vector<RestoreSource> &sources,
                      const KeyGroupRange &key_groups) {
  if (key_groups.empty() || key_groups.last >= kMaxKeyGroups) {
    return Status::Internal(where + ": bad key-group range " + Range(key_groups));
  }
  std::vector<const RestoreSource *> sorted;
  for (const RestoreSource &source : sources) {
    if (source.path.empty()) return Status::Internal(where + ": a source without a path");
    if (RangeOf(source).empty() || source.last_key_group >= kMaxKeyGroups) {
      return Status::Internal(where + ": source " + source.path + " has a bad key-group range " +
                              Range(RangeOf(source)));
    }
    sorted.push_back(&source);
  }
  std::sort(sorted.begin(), sorted.end(), [](const RestoreSource *a, const RestoreSource *b) {
    return a->first_key_group < b->first_key_group;
  });
  for (size_t i = 0; i < sorted.size(); ++i) {
    for (size_t j = i + 1; j < sorted.size(); ++j) {
      const KeyGroupRange before = RangeOf(*sorted[i]), range = RangeOf(*sorted[j]);
      if (before.Overlaps(range) && ShareTables(*sorted[i], *sorted[j])) {
        return Status::Internal(where + ": sources " + sorted[i]->path + " " + Range(before) +
                                " and " + sorted[j]->path + " " + Range(range) +
                                " hold the same key groups of a table");
      }
    }
  }
  return Status::Ok();
}

// Whether `source` gives table `name`.
bool Gives(const RestoreSource &source, const std::string &name) {
  return source.tables.empty() ||
         std::find(source.tables.begin(), source.tables.end(), name) != source.tables.end();
}

// Immutable files may be shared with the checkpoint; RocksDB only ever deletes them.
bool Immutable(const std::string &name) {
  const auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends_with(".sst") || ends_with(".blob");
}

// Makes `to` a copy of the checkpoint `from`: SST files hard-linked, the rest (CURRENT,
// MANIFEST, OPTIONS, ...) copied, since the new instance writes to them. Info logs and the lock
// stay behind.
Status CloneCheckpoint(const std::string &where, const std::string &from, const std::string &to) {
  std::error_code error;
  if (!fs::is_regular_file(fs::path(from) / "CURRENT", error)) {
    return Status::External(where + ": " + from + " is not a state checkpoint (no CURRENT file)");
  }
  fs::create_directories(to, error);
  if (error) return Status::External(where + ": cannot create the directory: " + error.message());
  for (fs::directory_iterator it(from, error), end; !error && it != end; it.increment(error)) {
    if (!it->is_regular_file(error)) continue;
    const std::string name = it->path().filename().string();
    if (name == "LOCK" || name.rfind("LOG", 0) == 0) continue;
    const fs::path target = fs::path(to) / name;
    if (Immutable(name)) {
      fs::create_hard_link(it->path(), target, error);
      if (!error) continue;
      error.clear();  // another file system: copy instead
    }
    fs::copy_file(it->path(), target, error);
    if (error) {
      return Status::External(where + ": cannot copy " + it->path().string() + ": " +
                              error.message());
    }
  }
  if (error) return Status::External(where + ": cannot read " + from + ": " + error.message());
  return Status::Ok();
}

// A checkpoint opened read-only with all its column families; closed on destruction.
class ReadOnlyCheckpoint {
 public:
  ~ReadOnlyCheckpoint() {
    if (db_ == nullptr) return;
    for (rocksdb::ColumnFamilyHandle *handle : handles_) {
      db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    db_->Close().PermitUncheckedError();
  }

  Status Open(const std::string &where, const std::string &path, const RocksStateOptions &options) {
    rocksdb::DBOptions db_options;
    db_options.info_log = std::make_shared<DiscardLogger>();
    std::vector<std::string> names;
    rocksdb::Status listed = rocksdb::DB::ListColumnFamilies(db_options, path, &names);
    if (!listed.ok()) return internal::External(where, listed);
    const rocksdb::ColumnFamilyOptions cf_options =
        internal::TableOptions(options, internal::SharedBlockCache());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const std::string &name : names) descriptors.emplace_back(name, cf_options);
    rocksdb::DB *db = nullptr;
    rocksdb::Status opened =
        rocksdb::DB::OpenForReadOnly(db_options, path, descriptors, &handles_, &db);
    if (!opened.ok()) return internal::External(where, opened);
    db_.reset(db);
    for (size_t i = 0; i < names.size(); ++i) by_name_[names[i]] = handles_[i];
    return Status::Ok();
  }

  rocksdb::DB *db() const { return db_.get(); }
  // The column family `name`, or nullptr when the checkpoint has none.
  rocksdb::ColumnFamilyHandle *Table(const std::string &name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle *> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle *> by_name_;
};

}  // namespace

Result<std::unique_ptr<RocksStateBackend>> RocksStateBackend::Restore(
    const std::string &directory, const std::vector<std::string> &tables,
    const std::vector<RestoreSource> &sources, uint32_t first_key_group, uint32_t last_key_group,
    const RocksStateOptions &options) {
  const std::string where = "restoring state at " + directory;
  const KeyGroupRange key_groups{first_key_group, last_key_group};
  if (directory.empty()) return Status::InvalidArgument("restoring state: no directory given");
  SLUICE_RETURN_IF_ERROR(CheckArguments(where, sources, key_groups));
  std::error_code error;
  if (fs::exists(directory, error) && !fs::is_empty(directory, error)) {
    return Status::Internal(where + ": the directory is not empty");
  }
  std::vector<const RestoreSource *> overlapping;
  for (const RestoreSource &source : sources) {
    if (RangeOf(source).Overlaps(key_groups)) overlapping.push_back(&source);
  }

  Result<std::unique_ptr<RocksStateBackend>> restored = Status::Internal(where + ": not done");
  const auto gives_all = [&](const RestoreSource &source) {
    return std::all_of(tables.begin(), tables.end(),
                       [&](const std::string &name) { return Gives(source, name); });
  };
  if (overlapping.size() == 1 && RangeOf(*overlapping[0]) == key_groups &&
      gives_all(*overlapping[0])) {
    Status cloned = CloneCheckpoint(where, overlapping[0]->path, directory);
    restored = cloned.ok() ? Open(directory, tables, options)
                           : Result<std::unique_ptr<RocksStateBackend>>(cloned);
    if (restored.ok()) (*restored)->cloned_from_ = overlapping[0]->path;
  } else {
    restored = Open(directory, tables, options);
    for (size_t i = 0; restored.ok() && i < overlapping.size(); ++i) {
      Status copied = (*restored)->CopyFrom(*overlapping[i], key_groups, options);
      if (!copied.ok()) restored = copied;
    }
  }
  if (!restored.ok()) fs::remove_all(directory, error);  // what was made of it, if anything
  return restored;
}

Status RocksStateBackend::CopyFrom(const RestoreSource &source, KeyGroupRange key_groups,
                                   const RocksStateOptions &options) {
  const std::string where = "restoring state at " + directory_ + " from " + source.path;
  ReadOnlyCheckpoint checkpoint;
  SLUICE_RETURN_IF_ERROR(checkpoint.Open(where, source.path, options));
  const KeyGroupRange range = RangeOf(source).Intersect(key_groups);
  std::string lower;
  internal::AppendKeyGroup(range.first, &lower);
  std::string upper;
  const bool bounded = range.last + 1 < kMaxKeyGroups;
  if (bounded) internal::AppendKeyGroup(range.last + 1, &upper);
  const rocksdb::Slice upper_slice(upper);

  rocksdb::WriteOptions write_options;
  write_options.disableWAL = true;
  for (size_t table = 0; table < tables_.size(); ++table) {
    if (!Gives(source, tables_[table])) continue;  // another source's
    rocksdb::ColumnFamilyHandle *from = checkpoint.Table(tables_[table]);
    if (from == nullptr) continue;  // the old task had no such table: empty
    const std::string table_where = where + ", table '" + tables_[table] + "'";
    rocksdb::ReadOptions read_options;
    read_options.fill_cache = false;
    read_options.readahead_size = size_t{2} << 20;
    if (bounded) read_options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(checkpoint.db()->NewIterator(read_options, from));
    rocksdb::WriteBatch batch;
    const auto write = [&]() -> Status {
      rocksdb::Status written = db_->Write(write_options, &batch);
      if (!written.ok()) return internal::External(table_where, written);
      batch.Clear();
      return Status::Ok();
    };
    for (it->Seek(lower); it->Valid(); it->Next()) {
      rocksdb::Status added = batch.Put(handles_[table], it->key(), it->value());
      if (!added.ok()) return internal::External(table_where, added);
      if (batch.GetDataSize() >= kBatchBytes) SLUICE_RETURN_IF_ERROR(write());
    }
    if (!it->status().ok()) return internal::External(table_where, it->status());
    if (batch.Count() > 0) SLUICE_RETURN_IF_ERROR(write());
  }
  return Status::Ok();
}

}  // namespace sluice::state
