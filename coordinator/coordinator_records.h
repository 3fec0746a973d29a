#pragma once

// The coordinator's records of workers, jobs and tasks: private to CoordinatorNode, shared by the
// files that implement it (coordinator_node.cc, coordinator_restart.cc). Guarded by the node's
// mutex_.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/checkpoint_coordinator.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/job_state_machine.h"
#include "coordinator/rate_meter.h"

namespace sluice::coordinator {
namespace internal {

inline uint64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline bool IsTaskTerminal(proto::TaskState state) {
  return state == proto::TASK_FINISHED || state == proto::TASK_CANCELED ||
         state == proto::TASK_FAILED;
}

}  // namespace internal

struct CoordinatorNode::WorkerRecord {
  WorkerId id;
  std::string address;
  std::string name;
  uint32_t slots = 0;
  Clock::time_point last_seen;
  uint64_t heartbeats = 0;
  uint32_t running_reported = 0;                     // live tasks in its latest heartbeat
  std::shared_ptr<proto::WorkerService::Stub> stub;  // shared with deploys in flight
  std::map<TaskId, JobId> tasks;                     // tasks placed here that have not ended
};

// What the tracker does not keep about a task: where it sits in the plan and its metrics.
struct CoordinatorNode::TaskRecord {
  uint32_t subtask = 0;
  proto::TaskState reported = proto::TASK_DEPLOYING;  // the worker's latest word
  uint64_t records_in = 0;
  uint64_t records_out = 0;
  std::string detail;  // a connector's current problem, as last reported
  std::string worker_address;        // where the task was deployed
  RateMeter rates;  // records per second over the last 10 s of reports
  std::optional<int64_t> watermark;  // the task's output watermark, once reported
  uint64_t backpressured_ms = 0;     // as last reported (a counter)
};

// One task deployment to send to a worker (without holding the lock).
struct CoordinatorNode::Deployment {
  std::string worker_address;
  std::shared_ptr<proto::WorkerService::Stub> stub;
  proto::DeployTaskRequest request;
};

// The tracker and tasks are those of the current attempt: a job that fails with restarts
// left gets new tasks (ids "...#<attempt>") deployed from its latest completed checkpoint.
struct CoordinatorNode::JobRecord {
  explicit JobRecord(std::vector<TrackedTask> tasks) : tracker(std::move(tasks)) {}
  JobId id;
  proto::JobSpec spec;
  JobLifecycle lifecycle;  // the job's state (job_state_machine.h); persisted on every move
  JobTracker tracker;      // the current attempt's tasks
  uint64_t submitted_at_ms = 0;
  uint64_t ended_at_ms = 0;
  std::map<TaskId, TaskRecord> tasks;
  std::vector<std::string> results;

  // Checkpoints and recovery.
  std::string checkpoint_dir;  // <coordinator checkpoint dir>/<job id>
  uint32_t attempt = 0;
  uint32_t restarts = 0;
  // RESTARTING: redeploy at restart_at; SCHEDULING: try to place the attempt again then.
  Clock::time_point restart_at;
  bool restart_pending = false;  // the next attempt placed counts as a restart
  uint64_t consecutive_failures = 0;  // failures since the last completed checkpoint (backoff)
  std::string failure;                // with FAILED: why
  proto::FailureDomain failure_domain = proto::FAILURE_DOMAIN_UNSPECIFIED;
  uint32_t resumes = 0;            // coordinator restarts that resumed this job
  // Resumed: the addresses of the workers that ran it, to wait for (for a while); records from
  // before addresses were kept give only their count.
  std::set<std::string> resume_addresses;
  uint32_t resume_workers = 0;
  bool results_partial = false;    // collected results from before a resume were lost
  uint64_t checkpoint_ids_reserved = 0;  // persisted: every id handed out is below it
  std::string last_restart_reason;
  bool waiting_for_slots_logged = false;
  std::optional<CheckpointCoordinator> checkpoints;  // the current attempt's
  // The latest completed checkpoint or savepoint, over all attempts (or the one the job was
  // submitted from); restarts restore from it.
  std::optional<proto::CheckpointMetadata> latest;
  uint64_t next_checkpoint_id = 1;
  std::vector<std::string> retained_directories;
  uint64_t checkpoints_completed = 0;
  uint64_t checkpoints_failed = 0;
};

}  // namespace sluice::coordinator
