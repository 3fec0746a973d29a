// RocksStateBackend::WriteCheckpoint: an openable copy of a frozen instance, off the owner's
// thread, sharing the SST files a base checkpoint already holds (see README.md, "Checkpoint").
#include <fcntl.h>
#include <unistd.h>

#include <rocksdb/db.h>
#include <rocksdb/sst_file_writer.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "worker/state/rocks_internal.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::state {
namespace {

namespace fs = std::filesystem;
using internal::External;

bool EndsWith(const std::string &name, std::string_view suffix) {
  return name.size() >= suffix.size() &&
         name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Errno(const std::string &what, const std::string &path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// fsync of a file or directory.
Status Sync(const std::string &path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::External(Errno("cannot open", path));
  const int synced = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  errno = saved;
  if (synced != 0) return Status::External(Errno("cannot sync", path));
  return Status::Ok();
}

// Copies the first `limit` bytes of `from` (all of it when limit is 0) to a new file `to`,
// synced.
Status CopyPrefix(const std::string &from, const std::string &to, uint64_t limit) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::External(Errno("cannot open", from));
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return Status::External(Errno("cannot create", to));
  }
  std::vector<char> buffer(size_t{1} << 20);
  uint64_t copied = 0;
  Status result;
  while (limit == 0 || copied < limit) {
    size_t want = buffer.size();
    if (limit != 0 && limit - copied < want) want = static_cast<size_t>(limit - copied);
    const ssize_t n = ::read(in, buffer.data(), want);
    if (n < 0) {
      result = Status::External(Errno("cannot read", from));
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buffer.data() + done, static_cast<size_t>(n - done));
      if (w < 0) {
        result = Status::External(Errno("cannot write", to));
        break;
      }
      done += w;
    }
    if (!result.ok()) break;
    copied += static_cast<uint64_t>(n);
  }
  if (result.ok() && limit != 0 && copied < limit) {
    result = Status::External(from + " is shorter than the " + std::to_string(limit) +
                              " bytes to copy");
  }
  if (result.ok() && ::fsync(out) != 0) result = Status::External(Errno("cannot sync", to));
  ::close(in);
  ::close(out);
  return result;
}

Status WriteText(const std::string &path, const std::string &text) {
  const int out = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return Status::External(Errno("cannot create", path));
  const ssize_t w = ::write(out, text.data(), text.size());
  const bool ok = w == static_cast<ssize_t>(text.size()) && ::fsync(out) == 0;
  const int saved = errno;
  ::close(out);
  errno = saved;
  if (!ok) return Status::External(Errno("cannot write", path));
  return Status::Ok();
}

// Re-enables file deletions when a checkpoint ends, however it ends.
class DeletionsDisabled {
 public:
  explicit DeletionsDisabled(rocksdb::DB *db) : db_(db) {}
  ~DeletionsDisabled() { db_->EnableFileDeletions(/*force=*/false).PermitUncheckedError(); }
  DeletionsDisabled(const DeletionsDisabled &) = delete;
  DeletionsDisabled &operator=(const DeletionsDisabled &) = delete;

 private:
  rocksdb::DB *db_;
};

// An SST file of `size` bytes into the checkpoint at `copy`: hard-linked from `shared` (the
// base checkpoint's file of that name) when that has the same size, else linked from `live`, or
// copied where the file systems differ. Counts it in `stats`.
Status ShareSst(const std::string &live, const std::string &shared, const std::string &copy,
                uint64_t size, CheckpointStats &stats) {
  ++stats.files;
  stats.full_bytes += size;
  if (!shared.empty()) {
    std::error_code ignored;
    if (fs::file_size(shared, ignored) == size && !ignored) {
      fs::create_hard_link(shared, copy, ignored);
      if (!ignored) {
        ++stats.shared_files;
        return Status::Ok();
      }
    }
  }
  stats.incremental_bytes += size;
  std::error_code not_linked;
  fs::create_hard_link(live, copy, not_linked);
  if (not_linked) return CopyPrefix(live, copy, 0);
  return Status::Ok();
}

// A snapshot entry of one table, sorted cheaply: the first 8 bytes of its encoded key (the key
// group's 2, then up to 6 of the key, zero-padded) as a number, its place among the table's
// entries, and the entry. Most comparisons end at the prefix; equal prefixes compare the keys.
struct SnapshotItem {
  uint64_t prefix;
  uint32_t order;
  const StateBackend::Mutation *mutation;

  static bool SameKey(const SnapshotItem &a, const SnapshotItem &b) {
    return a.prefix == b.prefix && a.mutation->key == b.mutation->key;
  }
  static bool Before(const SnapshotItem &a, const SnapshotItem &b) {
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    const int c = a.mutation->key.compare(b.mutation->key);  // (unsigned bytes, as RocksDB)
    return c != 0 ? c < 0 : a.order < b.order;
  }
};

uint64_t KeyPrefix(uint32_t key_group, const std::string &key) {
  uint64_t prefix = static_cast<uint64_t>(key_group & 0xffff) << 48;
  for (size_t i = 0; i < 6 && i < key.size(); ++i) {
    prefix |= static_cast<uint64_t>(static_cast<uint8_t>(key[i])) << (40 - 8 * i);
  }
  return prefix;
}

// The options of a checkpoint's snapshot file: the table's, compressed as its upper levels
// (LZ4) rather than as its bottommost one (ZSTD, which SstFileWriter would take): the file is
// written on every checkpoint, and compactions recompress what reaches the bottom.
rocksdb::Options SnapshotFileOptions(const rocksdb::DBOptions &db,
                                     const rocksdb::ColumnFamilyOptions &table) {
  rocksdb::Options options(db, table);
  options.bottommost_compression = rocksdb::kDisableCompressionOption;
  return options;
}

}  // namespace

Status RocksStateBackend::IngestSnapshot(const std::string &where) {
  std::vector<SnapshotItem> items;
  std::string encoded;
  for (uint32_t table = 0; table < tables_.size(); ++table) {
    items.clear();
    for (const std::vector<Mutation> &mutations : snapshot_) {
      for (const Mutation &mutation : mutations) {
        if (mutation.table != table) continue;
        items.push_back({KeyPrefix(mutation.key_group, mutation.key),
                         static_cast<uint32_t>(items.size()), &mutation});
      }
    }
    if (items.empty()) continue;
    // In key order, and in the order written among equal keys: the last write of a key wins.
    std::sort(items.begin(), items.end(), SnapshotItem::Before);
    const rocksdb::Options options = SnapshotFileOptions(db_->GetDBOptions(),
                                                         db_->GetOptions(handles_[table]));
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), options, handles_[table]);
    const std::string file = directory_ + "/sluice-snapshot-" + std::to_string(table) + ".tmp";
    std::error_code ignored;
    fs::remove(file, ignored);
    rocksdb::Status done = writer.Open(file);
    for (size_t i = 0; done.ok() && i < items.size(); ++i) {
      // In key order the entries are all over memory: fetch those of the next ones early.
      if (i + 8 < items.size()) __builtin_prefetch(items[i + 8].mutation);
      if (i + 4 < items.size()) {
        const Mutation &ahead = *items[i + 4].mutation;
        __builtin_prefetch(ahead.key.data());
        if (ahead.value.has_value()) __builtin_prefetch(ahead.value->data());
      }
      const Mutation &mutation = *items[i].mutation;
      if (i + 1 < items.size() && SnapshotItem::SameKey(items[i], items[i + 1])) continue;
      encoded.clear();
      internal::AppendKeyGroup(mutation.key_group, &encoded);
      encoded.append(mutation.key);
      done = mutation.value.has_value() ? writer.Put(encoded, *mutation.value)
                                        : writer.Delete(encoded);
    }
    if (done.ok()) done = writer.Finish();
    if (done.ok()) {
      rocksdb::IngestExternalFileOptions ingest;
      ingest.move_files = true;
      ingest.allow_blocking_flush = true;
      done = db_->IngestExternalFile(handles_[table], {file}, ingest);
    }
    fs::remove(file, ignored);
    if (!done.ok()) return External(where + ", table '" + tables_[table] + "'", done);
  }
  return Status::Ok();
}

Result<CheckpointStats> RocksStateBackend::WriteCheckpoint(const std::string &directory,
                                                           const std::string &base) {
  SLUICE_RETURN_IF_ERROR(CheckOpen());
  const std::string where = "state backend at " + directory_ + ": checkpoint to " + directory;
  if (!frozen_) return Status::FailedPrecondition(where + ": the instance is not frozen");
  std::error_code error;
  const fs::path target = fs::absolute(directory, error);
  if (error) return Status::External(where + ": " + error.message());
  if (fs::exists(target, error)) return Status::External(where + ": it exists already");
  const std::string temp = target.string() + ".tmp";
  fs::remove_all(temp, error);
  fs::create_directory(temp, error);
  if (error) return Status::External(where + ": cannot create " + temp + ": " + error.message());

  CheckpointStats stats;
  Status result = [&]() -> Status {
    if (!snapshot_written_) {
      SLUICE_RETURN_IF_ERROR(IngestSnapshot(where));
      snapshot_written_ = true;
    }
    rocksdb::Status disabled = db_->DisableFileDeletions();
    if (!disabled.ok()) return External(where, disabled);
    DeletionsDisabled enable_again(db_.get());
    std::vector<std::string> files;
    uint64_t manifest_size = 0;
    // Flushes every memtable: nothing else writes to a frozen instance, so the files listed hold
    // exactly its state.
    rocksdb::Status listed = db_->GetLiveFiles(files, &manifest_size, /*flush_memtable=*/true);
    if (!listed.ok()) return External(where, listed);
    std::string manifest;
    for (const std::string &file : files) {
      const std::string name = fs::path(file).filename().string();
      const std::string live = directory_ + "/" + name;
      const std::string copy = temp + "/" + name;
      if (name == "CURRENT") continue;  // written below, naming the manifest copied
      uint64_t size = 0;
      if (name.rfind("MANIFEST-", 0) == 0) {
        manifest = name;
        SLUICE_RETURN_IF_ERROR(CopyPrefix(live, copy, manifest_size));
        size = manifest_size;
      } else if (EndsWith(name, ".sst") || EndsWith(name, ".blob")) {
        size = fs::file_size(live, error);
        if (error) return Status::External(where + ": cannot stat " + live + ": " + error.message());
        SLUICE_RETURN_IF_ERROR(ShareSst(live, base.empty() ? "" : base + "/" + name, copy, size,
                                        stats));
        continue;
      } else {
        SLUICE_RETURN_IF_ERROR(CopyPrefix(live, copy, 0));  // OPTIONS-*
        size = fs::file_size(copy, error);
        if (error) size = 0;
      }
      ++stats.files;
      stats.full_bytes += size;
      stats.incremental_bytes += size;
    }
    if (manifest.empty()) return Status::Internal(where + ": RocksDB listed no MANIFEST");
    SLUICE_RETURN_IF_ERROR(WriteText(temp + "/CURRENT", manifest + "\n"));
    SLUICE_RETURN_IF_ERROR(Sync(temp));
    fs::rename(temp, target, error);
    if (error) return Status::External(where + ": cannot rename " + temp + ": " + error.message());
    return Sync(target.parent_path().string());
  }();
  if (!result.ok()) {
    fs::remove_all(temp, error);
    if (result.domain() == ErrorDomain::kExternal &&
        result.message().rfind("state backend", 0) != 0) {
      return Status::External(where + ": " + result.message());
    }
    return result;
  }
  return stats;
}

}  // namespace sluice::state
