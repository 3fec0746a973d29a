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
#include "worker/exchange/exchange.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/checkpointing.h"
#include "worker/runtime/source_driver.h"
#include "worker/runtime/task_builder.h"
#include "worker/runtime/task_checkpointer.h"

namespace sluice::runtime {

// One parallel instance of a chain: a thread with its own JS isolate that pulls batches from
// the chain's source, runs them through the chain's functions and hands them to its sink.
// Three parts, as Flink's StreamTask / OperatorChain / SubtaskCheckpointCoordinator: BuildTask
// (task_builder.h) makes its parts from the deployment, TaskCheckpointer (task_checkpointer.h)
// takes and commits its checkpoints, and this class runs the loop and reports.
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
  static constexpr std::chrono::milliseconds kTick = kTaskTick;

 private:
  void Run();
  // Builds the parts and runs the loop; the parts are reachable by Cancel() while it runs.
  Status RunChain();
  // Until the input ends, the task is cancelled or something fails: checkpoints, a batch from
  // the source through the chain to the sink, time.
  Status Loop(TaskParts& parts, TaskCheckpointer& checkpointer);
  // The chain's output for one batch goes to the sink; the counters follow.
  Status Write(TaskParts& parts, const js::BatchResult& batch);
  Status Release(TaskParts& parts);

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
  std::atomic<int64_t> watermark_{js::kMinWatermark};  // the chain's output watermark, once it has one
  std::atomic<uint64_t> backpressured_ms_{0};     // the exchange sink's blocked time
  std::atomic<bool> ended_{false};
};

}  // namespace sluice::runtime
