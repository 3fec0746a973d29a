#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "coordinator/etcd_client.h"
#include "coordinator/job_store.h"

namespace sluice::coordinator {

// The job store of coordinators that elect a leader through etcd (`--ha etcd://...`).
//
// Election: each coordinator holds an etcd lease (kept alive by a thread) and tries to create
// the leader key `<prefix>/leader` (value: its address) with that lease in a transaction that
// succeeds only if the key does not exist. The winner's epoch is the revision that created the
// key, so a later leader always has a higher epoch. A standby polls until the key is gone (its
// holder's lease expired or was revoked) and tries again.
//
// Records: job records stay on the shared data dir, one file per job and epoch
// (`<data-dir>/jobs/<job-id>@<epoch>.json`, so a deposed leader never overwrites the current
// one's); etcd holds the pointers (`<prefix>/jobs/<job-id>` -> file). Every pointer update is a
// transaction guarded by "the leader key was created at my epoch": once another coordinator took
// over, the save fails and Deposed() turns true.
//
// Created by the binary's wiring code, owned by the CoordinatorNode; thread-safe.
class EtcdJobStore final : public JobStore {
 public:
  struct Options {
    std::string data_dir;           // shared by every coordinator
    std::string prefix = "/sluice";  // etcd key prefix
    int64_t lease_ttl_s = 2;        // etcd may round it up to its minimum
    std::chrono::milliseconds poll{200};  // how often a standby looks for a vacant leader key
  };
  [[nodiscard]] static Result<std::unique_ptr<EtcdJobStore>> Open(
      std::unique_ptr<EtcdClient> etcd, Options options);
  ~EtcdJobStore() override;

  Status Save(const proto::StoredJob& job) override;
  Result<LoadedJobs> LoadAll() override;
  // Blocks until this coordinator is the leader; the epoch is the leader key's create revision.
  Result<uint64_t> AcquireEpoch(const std::string& self_address) override;
  bool ElectsLeader() const override { return true; }
  std::string LeaderHint() const override;
  bool Deposed() const override { return deposed_.load(); }
  // Reads the leader key: OK while it is the one this coordinator created.
  Status ConfirmLeader() override;

 private:
  EtcdJobStore(std::unique_ptr<EtcdClient> etcd, Options options, std::string jobs_dir);
  void KeepAliveLoop();
  std::string LeaderKey() const { return options_.prefix + "/leader"; }
  std::string JobKey(const std::string& id) const { return options_.prefix + "/jobs/" + id; }

  std::unique_ptr<EtcdClient> etcd_;
  Options options_;
  std::string jobs_dir_;
  int64_t lease_ = 0;
  std::atomic<uint64_t> epoch_{0};  // 0 until elected
  std::atomic<bool> deposed_{false};
  std::atomic<bool> lease_lost_{false};

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;                     // under mutex_
  std::map<std::string, std::string> files_;  // job id -> its current record file; under mutex_
  std::thread keep_alive_;
};

}  // namespace sluice::coordinator
