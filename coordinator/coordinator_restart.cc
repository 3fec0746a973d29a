// The parts of CoordinatorNode that deal with surviving a restart (saving and restoring job
// records, cancelling tasks it no longer holds live) and with listing workers.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <random>
#include <utility>

#include "common/operator_kinds.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/coordinator_records.h"
#include "coordinator/secrets.h"

namespace sluice::coordinator {
namespace {

using internal::IsTaskTerminal;
using internal::NowMs;

std::string NewJobId() {
  static std::mutex mutex;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard<std::mutex> lock(mutex);
  char buf[24];
  std::snprintf(buf, sizeof(buf), "job-%08llx",
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

}  // namespace

proto::ListWorkersResponse CoordinatorNode::ListWorkers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  proto::ListWorkersResponse response;
  auto now = Clock::now();
  for (const auto& [id, worker] : workers_) {
    proto::WorkerInfo* info = response.add_workers();
    info->set_worker_id(id.str());
    info->set_address(worker->address);
    info->set_name(worker->name);
    info->set_slots(worker->slots);
    info->set_assigned_tasks(static_cast<uint32_t>(worker->tasks.size()));
    info->set_running_tasks(worker->running_reported);
    info->set_heartbeats(worker->heartbeats);
    info->set_last_seen_ms_ago(
        std::chrono::duration_cast<std::chrono::milliseconds>(now - worker->last_seen).count());
  }
  return response;
}

Status CoordinatorNode::BecomeLeader() {
  // The epoch is persisted (or the election won) before anything is sent to a worker.
  auto epoch = store_->AcquireEpoch(address_);
  if (!epoch.ok()) return epoch.status();
  epoch_ = *epoch;
  SLUICE_RETURN_IF_ERROR(RestoreJobs());
  leading_ = true;
  spdlog::info("coordinator {} leads with epoch {}", address_.empty() ? "(starting)" : address_,
               epoch_.load());
  return Status::Ok();
}

Status CoordinatorNode::RestoreJobs() {
  auto loaded = store_->LoadAll();
  if (!loaded.ok()) return loaded.status();
  std::vector<proto::StoredJob> jobs = std::move(loaded->jobs);
  std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.info().submitted_at_ms(), a.info().job_id()) <
           std::make_pair(b.info().submitted_at_ms(), b.info().job_id());
  });
  const uint32_t wait_ms =
      options_.resume_wait_ms > 0 ? options_.resume_wait_ms : options_.worker_timeout_ms;
  std::lock_guard<std::mutex> lock(mutex_);
  resume_until_ = Clock::now() + std::chrono::milliseconds(wait_ms);
  size_t resumed = 0;
  for (auto& job : jobs) {
    JobId id(job.info().job_id());
    if (jobs_.count(id) != 0 || archived_.count(id) != 0) continue;
    if (IsResumable(job.info().state())) {
      ResumeJobLocked(std::move(job));
      ++resumed;
      continue;
    }
    if (job.info().state() == proto::JOB_CANCELLING) {
      // The cancel was accepted before the restart; the old epoch's tasks are cancelled by the
      // workers when they meet this epoch (and by the heartbeat sweep).
      job.mutable_info()->set_state(proto::JOB_CANCELED);
      job.mutable_info()->set_ended_at_ms(NowMs());
      Status saved = store_->Save(job);
      if (!saved.ok()) spdlog::warn("cannot save job {}: {}", id.str(), saved.message());
    }
    job_order_.push_back(id);
    DropSpecBodies(job.mutable_spec());  // history: only its info is served
    archived_[id] = std::move(job);
  }
  spdlog::info("restored {} jobs, resumed {} ({} unreadable files skipped)", jobs.size(), resumed,
               loaded->skipped.size());
  return Status::Ok();
}

namespace {

// The highest n among <job_dir>/chk-<n>, complete or not (0 when none).
uint64_t HighestCheckpointDirectory(const std::string& job_dir) {
  uint64_t highest = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(job_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("chk-", 0) != 0) continue;
    char* end = nullptr;
    uint64_t n = std::strtoull(name.c_str() + 4, &end, 10);
    if (end != nullptr && *end == '\0') highest = std::max(highest, n);
  }
  return highest;
}

bool HasCollectSink(const proto::JobSpec& spec) {
  return std::any_of(spec.operators().begin(), spec.operators().end(),
                     [](const proto::Operator& op) { return CollectsResults(op.kind()); });
}

}  // namespace

void CoordinatorNode::ResumeJobLocked(proto::StoredJob stored) {
  const proto::JobInfo& info = stored.info();
  auto job = std::make_unique<JobRecord>(std::vector<TrackedTask>{});
  job->id = JobId(info.job_id());
  job->spec = stored.spec();
  job->lifecycle = JobLifecycle(info.state());
  job->submitted_at_ms = info.submitted_at_ms();
  job->attempt = info.attempt();
  job->restarts = info.restarts();
  job->resumes = info.resumes() + 1;
  job->last_restart_reason = info.last_restart_reason();
  job->checkpoints_completed = info.checkpoints_completed();
  job->checkpoints_failed = info.checkpoints_failed();
  job->consecutive_failures = stored.restarts_since_checkpoint();
  job->results_partial = info.results_partial() || HasCollectSink(stored.spec());
  job->checkpoint_dir = stored.checkpoint_dir().empty()
                            ? options_.checkpoint_dir + "/" + job->id.str()
                            : stored.checkpoint_dir();
  // From the latest completed checkpoint, else the savepoint the job started from.
  auto latest = checkpoint_store_->LatestCompleted(job->checkpoint_dir);
  if (latest.ok() && latest->has_value()) {
    job->latest = std::move(**latest);
  } else if (!job->spec.restore_from().empty()) {
    auto restore = ReadRestorePoint(job->spec.restore_from());
    if (restore.ok()) job->latest = std::move(restore).value();
  }
  if (!latest.ok()) spdlog::warn("job {}: {}", job->id.str(), latest.status().message());
  // Above every id used before, incomplete ones included.
  uint64_t next = std::max<uint64_t>({1, stored.checkpoint_ids_reserved(),
                                      info.last_checkpoint_id() + 1,
                                      HighestCheckpointDirectory(job->checkpoint_dir) + 1});
  if (job->latest.has_value()) next = std::max(next, job->latest->checkpoint_id() + 1);
  job->next_checkpoint_id = next;
  job->checkpoint_ids_reserved = next;
  if (job->latest.has_value() && !job->latest->savepoint()) {
    job->retained_directories.push_back(job->latest->directory());
  }
  std::set<std::string> workers;
  for (const auto& task : info.tasks()) {
    workers.insert(task.worker_id());
    if (!task.worker_address().empty()) job->resume_addresses.insert(task.worker_address());
  }
  job->resume_workers = static_cast<uint32_t>(workers.size());
  job->restart_at = Clock::now();
  spdlog::info("job {} was {} when the coordinator stopped; resuming it from {} (attempt {})",
               job->id.str(), JobStateName(info.state()),
               job->latest.has_value()
                   ? "checkpoint " + std::to_string(job->latest->checkpoint_id())
                   : std::string("the beginning (no checkpoint completed)"),
               job->attempt + 1);
  JobRecord& record = *job;
  jobs_[job->id] = std::move(job);
  job_order_.push_back(record.id);
  TransitionLocked(record, LifecycleEvent::kResumed);
}

Result<proto::ListJobsResponse> CoordinatorNode::StandbyView() const {
  if (store_ == nullptr) return proto::ListJobsResponse{};
  auto loaded = store_->LoadAll();
  if (!loaded.ok()) return loaded.status();
  std::sort(loaded->jobs.begin(), loaded->jobs.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.info().submitted_at_ms(), a.info().job_id()) <
           std::make_pair(b.info().submitted_at_ms(), b.info().job_id());
  });
  proto::ListJobsResponse response;
  for (auto& job : loaded->jobs) *response.add_jobs() = std::move(*job.mutable_info());
  return response;
}

bool CoordinatorNode::ResumeWorkersBackLocked(const JobRecord& job) const {
  if (job.resume_addresses.empty()) return workers_.size() >= job.resume_workers;
  std::set<std::string> registered;
  for (const auto& [id, worker] : workers_) registered.insert(worker->address);
  return std::includes(registered.begin(), registered.end(), job.resume_addresses.begin(),
                       job.resume_addresses.end());
}

void CoordinatorNode::StepDown(const std::string& why) {
  spdlog::error("coordinator {} (epoch {}) is no longer the leader: {}; stopping", address_,
                epoch_.load(), why);
  leading_ = false;
  // Fail-stop: a deposed leader holds nothing worth keeping (the new leader resumed from the
  // store) and must not act again; its supervisor restarts it as a standby.
  std::fflush(nullptr);
  std::_Exit(75);
}

void CoordinatorNode::PersistLocked(const JobRecord& job) {
  if (store_ == nullptr) return;
  proto::StoredJob stored;
  // Records are history (a restarted coordinator fails the jobs that were live): secrets stay out.
  *stored.mutable_spec() = RedactSecrets(job.spec);
  *stored.mutable_info() = InfoOf(job);
  stored.set_checkpoint_dir(job.checkpoint_dir);
  stored.set_checkpoint_ids_reserved(job.checkpoint_ids_reserved);
  stored.set_restarts_since_checkpoint(job.consecutive_failures);
  Status saved = store_->Save(stored);
  if (!saved.ok()) {
    spdlog::warn("cannot save job {} ({}): {}", job.id.str(), JobStateName(job.lifecycle.state()),
                 saved.message());
    if (store_->Deposed()) StepDown(saved.message());
  }
}

bool CoordinatorNode::HoldsLiveLocked(const JobId& job_id, const TaskId& task_id) const {
  auto job = jobs_.find(job_id);
  if (job == jobs_.end()) return false;
  const TrackedTask* task = job->second->tracker.Find(task_id);
  return task != nullptr && !IsTaskTerminal(task->state);
}

JobId CoordinatorNode::NewUniqueJobId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  while (true) {
    JobId id(NewJobId());
    if (jobs_.count(id) == 0 && archived_.count(id) == 0) return id;
  }
}

}  // namespace sluice::coordinator
