// The parts of CoordinatorNode that deal with surviving a restart (saving and restoring job
// records, cancelling tasks it no longer holds live) and with listing workers.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

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

Status CoordinatorNode::RestoreJobs() {
  if (store_ == nullptr) return Status::Ok();
  auto loaded = store_->LoadAll();
  if (!loaded.ok()) return loaded.status();
  std::vector<proto::StoredJob> jobs = std::move(loaded->jobs);
  std::sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.info().submitted_at_ms(), a.info().job_id()) <
           std::make_pair(b.info().submitted_at_ms(), b.info().job_id());
  });
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& job : jobs) {
    const proto::JobState was = job.info().state();
    if (FailInterruptedJob(job, NowMs())) {
      spdlog::warn("job {} was {} when the coordinator stopped; it is now failed",
                   job.info().job_id(), proto::JobState_Name(was).substr(4));
      Status saved = store_->Save(job);
      if (!saved.ok()) spdlog::warn("cannot save job {}: {}", job.info().job_id(), saved.message());
    }
    JobId id(job.info().job_id());
    job_order_.push_back(id);
    DropSpecBodies(job.mutable_spec());  // history: only its info is served
    archived_[id] = std::move(job);
  }
  spdlog::info("restored {} jobs ({} unreadable files skipped)", jobs.size(),
               loaded->skipped.size());
  return Status::Ok();
}

void CoordinatorNode::PersistLocked(const JobRecord& job) {
  if (store_ == nullptr) return;
  proto::StoredJob stored;
  // Records are history (a restarted coordinator fails the jobs that were live): secrets stay out.
  *stored.mutable_spec() = RedactSecrets(job.spec);
  *stored.mutable_info() = InfoOf(job);
  Status saved = store_->Save(stored);
  if (!saved.ok()) {
    spdlog::warn("cannot save job {} ({}): {}", job.id.str(),
                 proto::JobState_Name(job.tracker.state()), saved.message());
  }
}

bool CoordinatorNode::HoldsLiveLocked(const JobId& job_id, const TaskId& task_id) const {
  auto job = jobs_.find(job_id);
  if (job == jobs_.end()) return false;
  for (const auto& task : job->second->tracker.tasks()) {
    if (task.id == task_id) return !IsTaskTerminal(task.state);
  }
  return false;
}

JobId CoordinatorNode::NewUniqueJobId() const {
  std::lock_guard<std::mutex> lock(mutex_);
  while (true) {
    JobId id(NewJobId());
    if (jobs_.count(id) == 0 && archived_.count(id) == 0) return id;
  }
}

}  // namespace sluice::coordinator
