#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator {

// What LoadAll found: the readable jobs, and the entries it skipped (unreadable or corrupt), each
// named for the operator.
struct LoadedJobs {
  std::vector<proto::StoredJob> jobs;
  std::vector<std::string> skipped;
};

// Where the coordinator keeps its job records so that a restart loses none. One record per job,
// replaced whole on every save. Implementations are thread-safe; the coordinator owns its store and
// calls it under its own lock, so a save is ordered with the state change it records.
class JobStore {
 public:
  virtual ~JobStore() = default;

  // Replaces the job's record (keyed by info.job_id) atomically: after a crash at any point the
  // store holds the old record or the new one, never a mix.
  [[nodiscard]] virtual Status Save(const proto::StoredJob& job) = 0;
  // Every stored job, in no particular order. A corrupt record is skipped (and logged with its
  // name), not an error; an error means the store as a whole cannot be read.
  [[nodiscard]] virtual Result<LoadedJobs> LoadAll() = 0;

  // Fencing: a coordinator epoch newer than every one this store handed out before, persisted
  // before it is returned. With leader election (ElectsLeader), blocks until `self_address`
  // leads, and saves succeed only while it still does.
  [[nodiscard]] virtual Result<uint64_t> AcquireEpoch(const std::string& self_address) = 0;
  virtual bool ElectsLeader() const { return false; }
  // The leader's address as far as the store knows ("" when unknown or not electing).
  virtual std::string LeaderHint() const { return ""; }
  // Whether this coordinator lost the leadership it acquired (a save was refused for it).
  virtual bool Deposed() const { return false; }
  // Asks the store whether the epoch this coordinator acquired is still the newest, before an
  // act no save guards (writing a checkpoint's _metadata): OK when it is; FailedPrecondition
  // naming both epochs when another coordinator took a newer one (Deposed() turns true); other
  // errors when the store cannot tell (then the act must not happen either).
  [[nodiscard]] virtual Status ConfirmLeader() { return Status::Ok(); }
};

// Keeps records as `<dir>/jobs/<job-id>.json` (protobuf's JSON mapping, readable by people and jq).
// A save writes `.<job-id>.json.tmp`, fsyncs it, renames it over the record and fsyncs the folder.
// Created once per coordinator process by the binary's wiring code.
class FileJobStore final : public JobStore {
 public:
  // Creates `<dir>/jobs` if needed; fails if it cannot be created or written.
  [[nodiscard]] static Result<std::unique_ptr<FileJobStore>> Open(const std::string& dir);

  Status Save(const proto::StoredJob& job) override;
  Result<LoadedJobs> LoadAll() override;
  // A counter in `<dir>/epoch`, incremented and written durably on every call.
  Result<uint64_t> AcquireEpoch(const std::string& self_address) override;
  bool Deposed() const override { return deposed_.load(); }
  // Reads `<dir>/epoch` again: a coordinator started later on the same data dir took a newer one.
  Status ConfirmLeader() override;

  // The file that holds a job's record.
  std::string PathOf(const std::string& job_id) const;

 private:
  FileJobStore(std::string dir, std::string jobs_dir)
      : dir_(std::move(dir)), jobs_dir_(std::move(jobs_dir)) {}

  Result<uint64_t> ReadEpochLocked() const;

  std::mutex mutex_;  // one writer at a time per temp file
  std::string dir_;
  std::string jobs_dir_;
  uint64_t epoch_ = 0;  // acquired; under mutex_
  std::atomic<bool> deposed_{false};
};

// Keeps records in memory, for tests of code that uses a JobStore. `set_fail_saves` makes every
// Save fail (fault injection).
class MemoryJobStore final : public JobStore {
 public:
  Status Save(const proto::StoredJob& job) override;
  Result<LoadedJobs> LoadAll() override;
  Result<uint64_t> AcquireEpoch(const std::string&) override {
    std::lock_guard<std::mutex> lock(mutex_);
    return ++epoch_;
  }

  void set_fail_saves(bool fail) {
    std::lock_guard<std::mutex> lock(mutex_);
    fail_saves_ = fail;
  }
  size_t saves() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return saves_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, proto::StoredJob> jobs_;
  size_t saves_ = 0;
  uint64_t epoch_ = 0;
  bool fail_saves_ = false;
};

// A job record as its file holds it (protobuf's JSON mapping, indented), and back. Reading
// names the path in every error: cannot be read, not a job record.
[[nodiscard]] Result<std::string> EncodeStoredJob(const proto::StoredJob& job);
[[nodiscard]] Result<proto::StoredJob> ReadStoredJob(const std::string& path);

}  // namespace sluice::coordinator
