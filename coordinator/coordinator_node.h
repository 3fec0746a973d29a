#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/auth.h"
#include "common/cluster_limits.h"
#include "common/ids.h"
#include "common/status.h"
#include "coordinator/checkpoint_coordinator.h"
#include "coordinator/checkpoint_store.h"
#include "coordinator/job_lifecycle.h"
#include "coordinator/job_state_machine.h"
#include "coordinator/job_store.h"
#include "coordinator/job_validator.h"
#include "coordinator/spec_limits.h"
#include "sluice/cluster_service.grpc.pb.h"
#include "sluice/job_service.grpc.pb.h"
#include "sluice/worker_service.grpc.pb.h"

namespace sluice::coordinator {

struct CoordinatorOptions {
  std::string listen = "127.0.0.1:7070";   // port 0 picks a free one
  // The address clients and workers use (host or host:port); "": derived from `listen` (the
  // host's address for a wildcard listen). See common/net_address.h.
  std::string advertise;
  uint32_t heartbeat_interval_ms = 1000;   // what workers are told
  uint32_t worker_timeout_ms = 5000;       // a worker silent this long is declared dead
  size_t max_collected_records = 1000000;  // per job, for sink.collect
  // Where jobs' checkpoints go (<dir>/<job id>/chk-<n>); shared by every worker (a shared file
  // system in a real cluster). "": /tmp/sluice-checkpoints.
  std::string checkpoint_dir;
  // After a restart, how long resumed jobs wait for the workers that ran them to register again
  // before they are placed on whatever slots there are (0: worker_timeout_ms).
  uint32_t resume_wait_ms = 0;
  ClusterLimits limits;  // the maxima a submitted job is checked against
  // The cluster token clients and workers must present (and this coordinator presents to
  // workers), and TLS for its server and its channels to workers.
  ClusterSecurity security;
  bool insecure = false;  // serve on a non-loopback address without a token
  size_t max_spec_bytes = kDefaultMaxSpecBytes;  // larger specs are refused; 0: no limit
};

// The coordinator process's core: serves JobService to clients and ClusterService to workers,
// validates, plans and schedules jobs (coordinator core), deploys their tasks and tracks them to
// an end state. Created once per process (or per embedded cluster); Start() brings it up,
// Shutdown() stops it. gRPC handler threads and the liveness thread share it under `mutex_`;
// calls to workers are made without holding the lock.
//
// With a JobStore, every job's record is saved (under the lock, before the state change's side
// effects) whenever the job's lifecycle moves, and Start() loads them back: ended jobs keep their
// last state, live jobs are resumed from their latest completed checkpoint (README.md, "Restart
// and resume"). Every call to a worker carries this coordinator's epoch (fencing). Without a
// store everything lives in memory.
class CoordinatorNode {
 public:
  CoordinatorNode(CoordinatorOptions options, FunctionChecker check,
                  std::unique_ptr<JobStore> store = nullptr);
  ~CoordinatorNode();

  size_t max_spec_bytes() const { return options_.max_spec_bytes; }

  // Starts serving. With a store, first takes the coordinator epoch from it (a durable counter in
  // the data dir, or the leader key's revision with etcd, in which case this blocks in the
  // background until elected and serves as a standby meanwhile) and resumes the stored jobs that
  // were live: they wait for workers to re-register and are redeployed from their latest
  // completed checkpoint.
  Status Start();
  void Shutdown();
  // Fencing: this coordinator's epoch, sent with every call to a worker and every reply.
  uint64_t epoch() const { return epoch_.load(); }
  // OK when this coordinator leads; Unavailable naming the leader otherwise (a standby).
  [[nodiscard]] Status CheckLeader() const;
  // For worker calls: CheckLeader, and FailedPrecondition when the worker has seen a newer
  // epoch than ours (another coordinator took over: this one steps down).
  [[nodiscard]] Status CheckWorkerCall(uint64_t worker_epoch);
  void Wait();
  const std::string& address() const { return address_; }
  const ClusterSecurity& security() const { return options_.security; }

  // JobService, as the service adapters call it.
  proto::SubmitJobResponse Submit(const proto::JobSpec& spec);
  Result<proto::JobInfo> GetJob(const JobId& id) const;
  proto::ListJobsResponse ListJobs() const;
  Result<proto::JobInfo> CancelJob(const JobId& id);
  Result<proto::GetResultsResponse> GetResults(const proto::GetResultsRequest& request) const;
  proto::ListWorkersResponse ListWorkers() const;
  // The checks Submit makes, nothing deployed (HTTP's jobs/validate).
  std::vector<proto::ValidationProblem> Validate(const proto::JobSpec& spec) const;
  // The spec a job was submitted with (HTTP's jobs/{id}/plan).
  Result<proto::JobSpec> SpecOf(const JobId& id) const;
  // Called with the records a job's sinks pushed (collect results, and stdout records sent for
  // watching only), outside the node's lock, on the gRPC thread that received them; `dropped`
  // counts records the worker could not send. Set before Start(); e.g. the HTTP API's output
  // buffers.
  using OutputListener = std::function<void(const JobId& job, const std::vector<std::string>& records,
                                            uint64_t dropped)>;
  void SetOutputListener(OutputListener listener) { output_listener_ = std::move(listener); }
  // Waits until the savepoint completed (or failed), at most `timeout`.
  Result<proto::TriggerSavepointResponse> TriggerSavepoint(
      const proto::TriggerSavepointRequest& request, std::chrono::milliseconds timeout);

  // ClusterService. A registration whose address other hosts cannot reach (loopback, wildcard)
  // is refused unless this coordinator itself listens on loopback (a one-host cluster).
  Result<proto::RegisterWorkerResponse> RegisterWorker(const proto::RegisterWorkerRequest& request);
  // A worker going away on purpose: handled as a lost worker, without waiting for the timeout.
  void DeregisterWorker(const proto::DeregisterWorkerRequest& request);
  proto::HeartbeatResponse Heartbeat(const proto::HeartbeatRequest& request);
  void ReportTask(const proto::ReportTaskRequest& request);
  Status PushResults(const proto::PushResultsRequest& request);
  void AcknowledgeCheckpoint(const proto::AcknowledgeCheckpointRequest& request);
  void DeclineCheckpoint(const proto::DeclineCheckpointRequest& request);

 private:
  struct WorkerRecord;
  struct TaskRecord;
  struct JobRecord;
  struct Deployment;
  using Clock = std::chrono::steady_clock;
  using CancelList = std::vector<std::pair<std::string, TaskId>>;
  // Work for the liveness thread, which does the RPCs that checkpoints need.
  struct CheckpointCall {
    std::string address;
    TaskId task;
    uint64_t checkpoint_id = 0;
    bool trigger = false;  // TriggerCheckpoint, else NotifyCheckpointComplete
    JobId job;
  };

  // coordinator_checkpoints.cc: attempts, restarts and checkpoints.
  // Plans the job's next attempt (job.attempt), places its tasks on free slots and builds
  // their deployments (restoring from job.latest when set); on failure nothing changed.
  Status PrepareAttemptLocked(JobRecord& job, std::vector<Deployment>* deployments);
  // Sends the deployments and records the outcome on the job, if it is still at `attempt`.
  void DeployAttempt(const JobId& job_id, uint32_t attempt, std::vector<Deployment> deployments);
  // The current attempt failed: restart it later or fail the job, as the failure policy says.
  void FailAttemptLocked(JobRecord& job);
  // Moves the job's lifecycle and persists the record before the caller does anything else.
  void TransitionLocked(JobRecord& job, LifecycleEvent event);
  // Makes sure checkpoint ids up to `checkpoint_id` are reserved in the job's record.
  void ReserveCheckpointIdLocked(JobRecord& job, uint64_t checkpoint_id);
  static constexpr uint64_t kCheckpointIdBlock = 64;
  // Takes the epoch from the store, then resumes the stored live jobs (coordinator_restart.cc).
  Status BecomeLeader();
  // Builds a live record for a stored job that was running when the coordinator stopped.
  void ResumeJobLocked(proto::StoredJob stored);
  // A standby's answer to reads: the jobs as the store holds them, by submission time.
  Result<proto::ListJobsResponse> StandbyView() const;
  // The metadata of a checkpoint or savepoint to start from, with its current directory.
  Result<proto::CheckpointMetadata> ReadRestorePoint(const std::string& path);
  // This coordinator learned it is no longer the leader: it stops (fail-stop; its supervisor
  // restarts it as a standby).
  void StepDown(const std::string& why);
  // Restarts the jobs whose restart is due, deploying outside the lock.
  void RestartDueJobs();
  // Ticks every running job's checkpoint coordinator, queueing the triggers to send.
  void TickCheckpointsLocked(uint64_t now_ms);
  // Queues TriggerCheckpoint calls for the trigger's tasks (for the liveness thread).
  void QueueTriggersLocked(const JobRecord& job, const CheckpointTrigger& trigger);
  void HandleCheckpointFailuresLocked(JobRecord& job, std::vector<CheckpointFailure> failures);
  void StopCheckpointsLocked(JobRecord& job);
  void SendCheckpointCalls();
  void DeleteDirectories(std::vector<std::string> directories);

  void ApplyTaskStatus(JobRecord& job, const proto::TaskStatus& status,
                       std::vector<std::pair<std::string, TaskId>>* to_cancel);
  // Acts on what the job's tracker decided: collects the tasks to cancel, frees slots.
  void ApplyTransition(JobRecord& job, Transition transition,
                       std::vector<std::pair<std::string, TaskId>>* to_cancel);
  // Loads the store's jobs: ended ones into `archived_`, live ones resumed. Under no lock.
  Status RestoreJobs();
  // Saves the job's current record; a failure is logged, the job goes on. Under the lock.
  void PersistLocked(const JobRecord& job);
  // Whether the coordinator holds this task of this job live (so a worker should run it).
  bool HoldsLiveLocked(const JobId& job_id, const TaskId& task_id) const;
  JobId NewUniqueJobId() const;
  void SendCancels(const std::vector<std::pair<std::string, TaskId>>& to_cancel);
  proto::JobInfo InfoOf(const JobRecord& job) const;
  // Whether the workers a resumed job ran on registered again (by address; by count for
  // records that kept no addresses). Under mutex_.
  bool ResumeWorkersBackLocked(const JobRecord& job) const;
  void LivenessLoop();
  // Forgets the worker and fails (or restarts) the jobs that had live tasks there; `how` goes
  // into their failure ("was lost", "left").
  void RemoveWorkerLocked(const WorkerId& worker, const std::string& how, CancelList* to_cancel);

  CoordinatorOptions options_;
  FunctionChecker check_;
  std::unique_ptr<grpc::Service> job_service_;
  std::unique_ptr<grpc::Service> cluster_service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;

  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> leading_{false};
  std::atomic<bool> stopping_flag_{false};
  Clock::time_point resume_until_;  // resumed jobs wait for workers until then
  std::thread election_thread_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  uint64_t next_worker_ = 1;
  std::map<WorkerId, std::unique_ptr<WorkerRecord>> workers_;
  std::map<JobId, std::unique_ptr<JobRecord>> jobs_;
  std::map<JobId, proto::StoredJob> archived_;  // restored from the store; all have ended
  std::vector<JobId> job_order_;                // jobs_ and archived_, by submission
  std::unique_ptr<JobStore> store_;             // null: nothing is persisted
  std::unique_ptr<CheckpointStore> checkpoint_store_;
  std::vector<CheckpointCall> checkpoint_calls_;     // for the liveness thread
  std::vector<std::string> directories_to_delete_;  // for the liveness thread
  // Savepoints requested by users: by (job, checkpoint id), the outcome once known.
  std::map<std::pair<JobId, uint64_t>, std::optional<Result<std::string>>> savepoints_;
  std::thread liveness_thread_;
  OutputListener output_listener_;
};

}  // namespace sluice::coordinator
