#include "coordinator/etcd_job_store.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "coordinator/durable_file.h"

namespace sluice::coordinator {
namespace {

namespace fs = std::filesystem;

// "The leader key was created at `epoch`" (so its holder is still the one elected then).
etcdserverpb::Compare LeaderIs(const std::string& key, uint64_t epoch) {
  etcdserverpb::Compare compare;
  compare.set_key(key);
  compare.set_target(etcdserverpb::Compare::CREATE);
  compare.set_result(etcdserverpb::Compare::EQUAL);
  compare.set_create_revision(static_cast<int64_t>(epoch));
  return compare;
}

}  // namespace

Result<std::unique_ptr<EtcdJobStore>> EtcdJobStore::Open(std::unique_ptr<EtcdClient> etcd,
                                                         Options options) {
  if (options.data_dir.empty()) {
    return Status::InvalidArgument("--ha needs --data-dir (a directory every coordinator shares)");
  }
  std::string jobs_dir = (fs::path(options.data_dir) / "jobs").string();
  std::error_code error;
  fs::create_directories(jobs_dir, error);
  if (error) {
    return Status::External("cannot create the data directory " + jobs_dir + ": " +
                            error.message());
  }
  auto lease = etcd->GrantLease(options.lease_ttl_s);
  if (!lease.ok()) return lease.status();
  std::unique_ptr<EtcdJobStore> store(
      new EtcdJobStore(std::move(etcd), std::move(options), std::move(jobs_dir)));
  store->lease_ = *lease;
  store->keep_alive_ = std::thread([s = store.get()] { s->KeepAliveLoop(); });
  return store;
}

EtcdJobStore::EtcdJobStore(std::unique_ptr<EtcdClient> etcd, Options options,
                           std::string jobs_dir)
    : etcd_(std::move(etcd)), options_(std::move(options)), jobs_dir_(std::move(jobs_dir)) {}

EtcdJobStore::~EtcdJobStore() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (keep_alive_.joinable()) keep_alive_.join();
  // Hand over at once instead of after the lease's TTL.
  if (lease_ != 0) etcd_->RevokeLease(lease_).IgnoreError();
}

void EtcdJobStore::KeepAliveLoop() {
  const auto period = std::chrono::milliseconds(options_.lease_ttl_s * 1000 / 3);
  auto last_ok = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (cv_.wait_for(lock, period, [&] { return stopping_; })) return;
    }
    Status kept = etcd_->KeepAlive(lease_);
    if (kept.ok()) {
      last_ok = std::chrono::steady_clock::now();
      continue;
    }
    const bool expired = kept.code() == StatusCode::kNotFound ||
                         std::chrono::steady_clock::now() - last_ok >
                             std::chrono::seconds(options_.lease_ttl_s);
    spdlog::warn("etcd lease {}: {}", lease_, kept.message());
    if (expired) {
      // The leader key went with the lease: whoever holds leadership now, it is not us.
      lease_lost_ = true;
      if (epoch_ != 0) deposed_ = true;
      return;
    }
  }
}

Result<uint64_t> EtcdJobStore::AcquireEpoch(const std::string& self_address) {
  const std::string key = LeaderKey();
  std::string last_leader;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return Status::Cancelled("stopped before it was elected");
    }
    if (lease_lost_) return Status::Unavailable("the etcd lease of this coordinator expired");
    etcdserverpb::TxnRequest txn;
    etcdserverpb::Compare* vacant = txn.add_compare();
    vacant->set_key(key);
    vacant->set_target(etcdserverpb::Compare::CREATE);
    vacant->set_result(etcdserverpb::Compare::EQUAL);
    vacant->set_create_revision(0);  // the key does not exist
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(self_address);
    put->set_lease(lease_);
    txn.add_failure()->mutable_request_range()->set_key(key);
    auto result = etcd_->Txn(txn);
    if (!result.ok()) {
      spdlog::warn("leader election: {}", result.status().message());
    } else if (result->succeeded()) {
      epoch_ = static_cast<uint64_t>(result->header().revision());
      return epoch_.load();
    } else if (result->responses_size() > 0 &&
               result->responses(0).response_range().kvs_size() > 0) {
      std::string leader = result->responses(0).response_range().kvs(0).value();
      if (leader != last_leader) {
        spdlog::info("standby: the leader is {}", leader);
        last_leader = leader;
      }
    }
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait_for(lock, options_.poll, [&] { return stopping_; });
  }
}

std::string EtcdJobStore::LeaderHint() const {
  auto range = etcd_->Range(LeaderKey());
  if (!range.ok() || range->kvs_size() == 0) return "";
  return range->kvs(0).value();
}

Status EtcdJobStore::Save(const proto::StoredJob& job) {
  const std::string& id = job.info().job_id();
  const uint64_t epoch = epoch_.load();
  if (epoch == 0) return Status::FailedPrecondition("a standby coordinator saves no job");
  if (deposed_) return Status::FailedPrecondition("this coordinator is no longer the leader");
  auto json = EncodeStoredJob(job);
  if (!json.ok()) return json.status();
  if (id.empty() || id.find('/') != std::string::npos || id[0] == '.') {
    return Status::InvalidArgument("cannot store a job with id '" + id + "'");
  }
  const std::string path =
      (fs::path(jobs_dir_) / (id + "@" + std::to_string(epoch) + ".json")).string();
  SLUICE_RETURN_IF_ERROR(WriteFileDurably(path, *json));
  etcdserverpb::TxnRequest txn;
  *txn.add_compare() = LeaderIs(LeaderKey(), epoch);
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(JobKey(id));
  put->set_value(path);
  auto result = etcd_->Txn(txn);
  if (!result.ok()) return result.status();
  if (!result->succeeded()) {
    deposed_ = true;
    ::unlink(path.c_str());
    return Status::FailedPrecondition("job " + id + " not saved: coordinator epoch " +
                                      std::to_string(epoch) + " is no longer the leader in " +
                                      etcd_->url());
  }
  std::string previous;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    previous = files_[id];
    files_[id] = path;
  }
  if (!previous.empty() && previous != path) ::unlink(previous.c_str());
  return Status::Ok();
}

Status EtcdJobStore::ConfirmLeader() {
  const uint64_t epoch = epoch_.load();
  if (epoch == 0) return Status::FailedPrecondition("a standby coordinator leads nothing");
  auto leader = etcd_->Range(LeaderKey());
  if (!leader.ok()) return leader.status();
  const uint64_t current =
      leader->kvs_size() == 0 ? 0 : static_cast<uint64_t>(leader->kvs(0).create_revision());
  if (current == epoch) return Status::Ok();
  deposed_ = true;
  return Status::FailedPrecondition(
      "coordinator epoch " + std::to_string(epoch) + " is no longer the leader in " +
      etcd_->url() +
      (current == 0 ? " (no leader now)" : " (epoch " + std::to_string(current) + " leads)"));
}

Result<LoadedJobs> EtcdJobStore::LoadAll() {
  const std::string prefix = options_.prefix + "/jobs/";
  auto range = etcd_->Range(prefix, EtcdClient::PrefixEnd(prefix));
  if (!range.ok()) return range.status();
  LoadedJobs loaded;
  for (const auto& kv : range->kvs()) {
    auto job = ReadStoredJob(kv.value());
    if (!job.ok()) {
      spdlog::warn("skipping job record {} (from etcd key {}): {}", kv.value(), kv.key(),
                   job.status().message());
      loaded.skipped.push_back(kv.value());
      continue;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      files_[job->info().job_id()] = kv.value();
    }
    loaded.jobs.push_back(std::move(job).value());
  }
  return loaded;
}

}  // namespace sluice::coordinator
