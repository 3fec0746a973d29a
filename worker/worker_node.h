#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/auth.h"
#include "common/cluster_limits.h"
#include "common/ids.h"
#include "worker/output_tap.h"
#include "common/metrics.h"
#include "common/status.h"
#include "sluice/cluster_service.grpc.pb.h"
#include "sluice/worker_service.grpc.pb.h"
#include "worker/exchange/exchange.h"
#include "worker/exchange/exchange_service.h"
#include "worker/epoch_fence.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/task.h"

namespace sluice::worker {

struct WorkerOptions {
  // host:port of the coordinator, or several separated by commas (a leader and its standbys):
  // the worker talks to one and moves to the next when it does not answer or is not the leader.
  std::string coordinator = "127.0.0.1:7070";
  std::string listen = "127.0.0.1:0";  // host:port for WorkerService; port 0 picks a free one
  // The address the coordinator and other workers use (host or host:port); "": the listen
  // address when concrete, the host's address ($POD_IP, an interface) for a wildcard listen.
  std::string advertise;
  uint32_t slots = 4;
  // What the inboxes of this worker's tasks may hold, in bytes: each task gets
  // min(inbox_task_bytes, inbox_bytes / tasks), shared between its input channels.
  size_t inbox_bytes = 256u << 20;
  size_t inbox_task_bytes = 4u << 20;
  // A coordinator silent this long is taken as lost: this worker cancels its running tasks.
  uint32_t coordinator_timeout_ms = 10000;
  std::FILE* stdout_file = stdout;  // where sink.stdout writes
  // Where tasks keep keyed state, one RocksDB per task below it; "": /tmp/sluice-state-<pid>.
  std::string state_dir;
  MetricsRegistry* metrics = nullptr;  // where to report task metrics, if anywhere
  // The cluster token this worker presents to the coordinator and to other workers, and that
  // callers of its WorkerService and ExchangeService must present; TLS for both directions.
  ClusterSecurity security;
  bool insecure = false;  // serve on a non-loopback address without a token
  ClusterLimits limits;                 // what every task is held to
  // The folders file sources and sinks may use (runtime/file_reach.h); none: no files at all.
  std::vector<std::string> allow_paths;
  // Where each task writes its generated JS driver (<dir>/<task>.js); "": nowhere.
  std::string driver_dir;
};

// A worker process's core: serves WorkerService (deploy and cancel tasks), registers with the
// coordinator, sends heartbeats with its tasks' states, and pushes collected results.
// Created once per process (or per embedded cluster); Start() brings it up, Shutdown() cancels
// every task and stops the server. gRPC handlers, task threads and the heartbeat thread all
// touch it; `mutex_` guards the task table.
//
// Fencing: every coordinator call carries the coordinator's epoch. The worker keeps the newest
// epoch it has seen, refuses calls with an older one (FAILED_PRECONDITION), ignores replies with
// an older one, and cancels the tasks an older epoch deployed as soon as it meets a newer one; a
// checkpoint notification (a sink's commit) is obeyed only from the epoch that deployed the task.
class WorkerNode final : public proto::WorkerService::Service,
                         public runtime::ResultPusher,
                         public runtime::CheckpointListener {
 public:
  WorkerNode(WorkerOptions options, js::ChainRunnerFactory& engine);
  ~WorkerNode() override;

  // Starts the server, then registers with the coordinator (retrying until it answers; a
  // coordinator that refuses the registration, e.g. for an unreachable address, ends it).
  Status Start();
  // Tells the coordinator this worker is going away (its tasks' jobs restart elsewhere at once),
  // before Shutdown(). Best effort: a coordinator that does not answer finds out by timeout.
  Status Leave(const std::string& reason);
  void Shutdown();
  // For /healthz: ok while the worker serves. For /readyz: ok once registered and while the
  // coordinator answers heartbeats; otherwise says why not.
  Status Health() const;
  Status Readiness() const;
  // Blocks until Shutdown().
  void Wait();

  const std::string& address() const { return address_; }
  WorkerId id() const;

  grpc::Status DeployTask(grpc::ServerContext* context, const proto::DeployTaskRequest* request,
                          proto::DeployTaskResponse* response) override;
  grpc::Status CancelTask(grpc::ServerContext* context, const proto::CancelTaskRequest* request,
                          proto::CancelTaskResponse* response) override;

  grpc::Status TriggerCheckpoint(grpc::ServerContext* context,
                                 const proto::TriggerCheckpointRequest* request,
                                 proto::TriggerCheckpointResponse* response) override;
  grpc::Status NotifyCheckpointComplete(grpc::ServerContext* context,
                                        const proto::NotifyCheckpointCompleteRequest* request,
                                        proto::NotifyCheckpointCompleteResponse* response) override;

  Status Push(const JobId& job, const TaskId& task, std::vector<std::string> records) override;
  void Watch(const JobId& job, std::string_view json_lines) override;
  void Acknowledge(const JobId& job, uint64_t checkpoint,
                   const proto::TaskSnapshot& snapshot) override;
  void Decline(const JobId& job, const TaskId& task, uint64_t checkpoint,
               const std::string& reason) override;

 private:
  static constexpr std::chrono::seconds kRpcTimeout{10};  // calls to the coordinator

  Status Register();
  // Fencing (under mutex_): OK for `epoch` >= the newest seen (adopting a newer one cancels the
  // tasks older epochs deployed); FailedPrecondition naming both epochs for an older one.
  Status AcceptEpochLocked(uint64_t epoch, const char* call);
  // Cancels the tasks AcceptEpochLocked fenced off; on the heartbeat thread, without the lock.
  void CancelFencedTasks();
  // The coordinator stub to call now, and the address it talks to.
  std::shared_ptr<proto::ClusterService::Stub> Coordinator(std::string* address = nullptr) const;
  // Moves to the next coordinator address (the current one failed or is not the leader).
  void NextCoordinator();
  void HeartbeatLoop();
  // Wakes the heartbeat loop so task statuses reach the coordinator now; any thread, no lock.
  void ReportSoon();
  void CancelOrphansIfCoordinatorLost();
  void OnTaskEnded(const TaskId& task, proto::TaskState state, const std::string& failure);
  void ReapEndedTasks();
  void CollectMetrics(MetricsWriter& writer) const;
  // OK when the caller presented the cluster token (the coordinator, another worker).
  grpc::Status CheckToken(const grpc::ServerContext* context) const;

  WorkerOptions options_;
  js::ChainRunnerFactory& engine_;
  runtime::FileReach file_reach_;  // from options_.allow_paths, made by Start()
  exchange::Router router_;  // inboxes of this worker's tasks that upstream tasks feed
  exchange::ExchangeServiceImpl exchange_service_{router_, {.token = options_.security.token}};
  exchange::PeerConnections peers_{options_.security};  // one stream to each other worker
  std::shared_ptr<exchange::InboxBudget> inbox_budget_ = std::make_shared<exchange::InboxBudget>(
      options_.inbox_bytes, options_.inbox_task_bytes);
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  std::vector<std::string> coordinators_;  // from options_.coordinator
  size_t coordinator_index_ = 0;           // under mutex_
  std::shared_ptr<proto::ClusterService::Stub> coordinator_;  // under mutex_
  EpochFence fence_{""};                   // coordinator epochs seen and deploying; under mutex_
  std::vector<TaskId> fenced_tasks_;        // to cancel (heartbeat thread); under mutex_

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  WorkerId worker_id_;
  uint32_t heartbeat_interval_ms_ = 1000;
  bool stopping_ = false;
  std::atomic<bool> report_soon_{false};  // a task's status changed: heartbeat now (ReportSoon)
  std::map<TaskId, std::unique_ptr<runtime::Task>> tasks_;
  std::map<TaskId, bool> end_reported_;  // ended tasks and whether the coordinator heard it
  std::thread heartbeat_thread_;
  std::chrono::steady_clock::time_point last_heartbeat_ack_;  // heartbeat thread only
  bool registered_ = false;       // under mutex_
  bool left_ = false;             // under mutex_: Leave() told the coordinator
  bool coordinator_lost_ = false;  // under mutex_: heartbeats unanswered past the timeout
  int metrics_collector_ = 0;
  std::unique_ptr<OutputTap> tap_;  // stdout sinks' records, for watchers on the coordinator
};

}  // namespace sluice::worker
