#pragma once

#include <atomic>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/cluster_limits.h"
#include "common/ids.h"
#include "common/status.h"
#include "sluice/cluster_service.pb.h"
#include "sluice/job_service.pb.h"
#include "sluice/worker_service.pb.h"
#include "worker/js/js_engine.h"
#include "worker/exchange/exchange.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/checkpointing.h"
#include "worker/runtime/source_driver.h"

namespace sluice::state {
class RocksStateBackend;
}  // namespace sluice::state

namespace sluice::runtime {

// What a task reports when it ends. Called once, from the task's own thread.
using TaskEndedCallback =
    std::function<void(const TaskId& task, proto::TaskState state, const std::string& failure)>;

struct TaskServices {
  js::ChainRunnerFactory* engine = nullptr;
  ResultPusher* pusher = nullptr;
  std::FILE* stdout_file = stdout;
  TaskEndedCallback on_ended;
  exchange::Router* router = nullptr;              // for channels to tasks on this worker
  std::string self_address;                        // this worker's address: targets there are local
  const ClusterSecurity* peer_security = nullptr;  // token and TLS for other workers; null: none
  std::shared_ptr<exchange::Inbox> inbox;          // when upstream tasks feed this one
  std::string state_dir;                      // a task with keyed state keeps its RocksDB below it
  CheckpointListener* checkpoints = nullptr;  // where its checkpoint acknowledgements go
  ClusterLimits limits;                        // the worker's maxima (task_limits.h)
  const FileReach* file_reach = nullptr;       // where file sources and sinks may go
};

// One parallel instance of a chain: a thread with its own JS isolate that pulls batches from
// the chain's source, runs them through the chain's functions and hands them to its sink.
// Created by the worker when the coordinator deploys it; Start() spawns the thread; the
// destructor cancels and joins it. Cancel() and Snapshot() may be called from any thread.
class Task {
 public:
  Task(proto::TaskDeployment deployment, TaskServices services);
  ~Task();
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;

  void Start();
  void Cancel();
  // Waits for the thread to end.
  void Join();

  // Checkpoints, from any thread: take checkpoint n (a task with a source: at its next batch
  // boundary), and checkpoint n completed (a sink commits).
  void TriggerCheckpoint(uint64_t checkpoint) { mailbox_.Trigger(checkpoint); }
  void NotifyCheckpointComplete(uint64_t checkpoint) { mailbox_.Complete(checkpoint); }

  const TaskId& id() const { return id_; }
  const JobId& job_id() const { return job_id_; }
  bool ended() const { return ended_.load(); }
  proto::TaskStatus Snapshot() const;
  // The task's inbox when upstream tasks feed it (for queue metrics), else null.
  const std::shared_ptr<exchange::Inbox>& inbox() const { return services_.inbox; }
  // Bytes this task sent to downstream tasks so far.
  uint64_t exchange_bytes_sent() const { return exchange_bytes_.load(); }
  // Records its windows found too late: dropped, and sent to the late side output.
  uint64_t late_dropped() const { return late_dropped_.load(); }
  uint64_t late_side_output() const { return late_side_output_.load(); }

  // How often time moves on (processing-time timers, idle inputs) when nothing else happens.
  static constexpr std::chrono::milliseconds kTick{50};

 private:
  struct Parts;
  void Run();
  Status RunChain();
  // Snapshots the task at checkpoint n's barrier (state, source position, sink's pending
  // epochs), forwards the barrier and acknowledges; a snapshot that fails is declined, and the
  // barrier still goes on so that downstream tasks do not wait for it.
  Status TakeCheckpoint(uint64_t checkpoint, Parts& parts);
  // The task's keyed state in `directory`: fresh, or restored from the deployment's checkpoint
  // (the key groups of this subtask, out of the old subtasks' snapshots).
  Result<std::unique_ptr<state::RocksStateBackend>> OpenState(const std::string& directory,
                                                              const std::string& operator_id);

  proto::TaskDeployment deployment_;
  TaskServices services_;
  TaskId id_;
  JobId job_id_;
  CancelSignal cancel_;
  CheckpointMailbox mailbox_;
  std::thread thread_;

  mutable std::mutex mutex_;
  js::ChainRunner* runner_ = nullptr;  // guarded by mutex_; for Cancel()
  SourceDriver* source_ = nullptr;     // guarded by mutex_; for Cancel()
  BatchSink* sink_ = nullptr;          // guarded by mutex_; for Cancel()
  proto::TaskState state_ = proto::TASK_DEPLOYING;
  std::string failure_;
  proto::FailureDomain failure_domain_ = proto::FAILURE_DOMAIN_UNSPECIFIED;  // with failure_
  bool failure_retryable_ = false;
  std::atomic<uint64_t> records_in_{0};
  std::atomic<uint64_t> records_out_{0};
  std::atomic<uint64_t> late_dropped_{0};
  std::atomic<uint64_t> late_side_output_{0};
  ConnectorHealth health_;
  std::atomic<uint64_t> exchange_bytes_{0};
  std::atomic<bool> ended_{false};
};

}  // namespace sluice::runtime
