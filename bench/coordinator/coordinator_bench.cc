// The coordinator with thousands of tasks: simulated workers (real gRPC servers in this process,
// no V8, no task runs) register with a real coordinator process, take its deployments, send
// heartbeats carrying every task's status and acknowledge a savepoint of every task. Prints the
// coordinator's CPU time (from /proc/<pid>/stat) and the wall time of each phase:
//   deploy     submit -> every task deployed and the job running
//   heartbeat  rounds of one heartbeat per worker, each with the statuses of all its tasks
//   savepoint  trigger -> every task acknowledged -> complete
// Usage: coordinator_bench --coordinator HOST:PORT --pid PID --tasks N [--workers W]
//          [--shape chain|keyed] [--rounds R (default 200,000 / N)]
// (bench/run-coordinator.sh starts the coordinator and runs this.)
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/grpc_util.h"
#include "sluice/cluster_service.grpc.pb.h"
#include "sluice/job_service.grpc.pb.h"
#include "sluice/worker_service.grpc.pb.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// CPU milliseconds (user + system) process `pid` used so far.
double CpuMs(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

class FakeWorker;

// The simulated workers of a run. The coordinator triggers a checkpoint at the source tasks
// only; downstream tasks take theirs when the barriers reach them. Without data flowing, the
// first trigger of a checkpoint stands for its barriers: every worker then acknowledges it for
// all its tasks.
struct Fleet {
  std::mutex mutex;
  uint64_t last_triggered = 0;
  std::vector<FakeWorker*> workers;
  void Triggered(uint64_t checkpoint);
};

// One simulated worker: takes deployments, remembers them, and acknowledges checkpoints for
// all its tasks on its own thread (as a worker's tasks would, after their snapshot).
class FakeWorker final : public proto::WorkerService::Service {
 public:
  explicit FakeWorker(Fleet& fleet) : fleet_(fleet) {}

  grpc::Status DeployTask(grpc::ServerContext*, const proto::DeployTaskRequest* request,
                          proto::DeployTaskResponse*) override {
    std::lock_guard lock(mutex_);
    const proto::TaskDeployment& task = request->task();
    Task& kept = tasks_[task.task_id()];
    kept.job_id = task.job_id();
    kept.subtask = task.subtask();
    kept.parallelism = task.parallelism();
    kept.operator_ids.assign(task.operator_ids().begin(), task.operator_ids().end());
    kept.max_parallelism = task.spec().max_parallelism();
    deploy_bytes_ += request->ByteSizeLong();
    return grpc::Status::OK;
  }
  grpc::Status CancelTask(grpc::ServerContext*, const proto::CancelTaskRequest* request,
                          proto::CancelTaskResponse*) override {
    std::lock_guard lock(mutex_);
    tasks_.erase(request->task_id());
    return grpc::Status::OK;
  }
  grpc::Status TriggerCheckpoint(grpc::ServerContext*, const proto::TriggerCheckpointRequest* request,
                                 proto::TriggerCheckpointResponse*) override {
    fleet_.Triggered(request->checkpoint_id());
    return grpc::Status::OK;
  }
  // Acknowledges `checkpoint` for every task here.
  void AcknowledgeAll(uint64_t checkpoint) {
    std::lock_guard lock(mutex_);
    for (const auto& [id, task] : tasks_) {
      proto::TriggerCheckpointRequest trigger;
      trigger.set_task_id(id);
      trigger.set_checkpoint_id(checkpoint);
      triggers_.push_back(std::move(trigger));
    }
    changed_.notify_all();
  }
  grpc::Status NotifyCheckpointComplete(grpc::ServerContext*,
                                        const proto::NotifyCheckpointCompleteRequest*,
                                        proto::NotifyCheckpointCompleteResponse*) override {
    return grpc::Status::OK;
  }

  bool Start(proto::ClusterService::Stub& cluster, uint32_t slots) {
    Result<StartedServer> server = StartServer("127.0.0.1:0", {this}, "fake worker");
    if (!server.ok()) return false;
    server_ = std::move(*server);
    grpc::ClientContext context;
    proto::RegisterWorkerRequest request;
    request.set_address(server_.address);
    request.set_slots(slots);
    request.set_name("simulated " + server_.address);
    proto::RegisterWorkerResponse response;
    if (!cluster.RegisterWorker(&context, request, &response).ok()) return false;
    id_ = response.worker_id();
    epoch_ = response.coordinator_epoch();
    cluster_ = &cluster;
    acker_ = std::thread([this] { Acknowledge(); });
    keepalive_ = std::thread([this] { KeepAlive(); });
    return true;
  }
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      changed_.notify_all();
    }
    acker_.join();
    keepalive_.join();
    server_.server->Shutdown();
  }
  // One heartbeat with every task's status (RUNNING).
  bool Heartbeat() {
    proto::HeartbeatRequest request;
    request.set_worker_id(id_);
    request.set_coordinator_epoch(epoch_);
    {
      std::lock_guard lock(mutex_);
      for (const auto& [id, task] : tasks_) {
        proto::TaskStatus* status = request.add_tasks();
        status->set_job_id(task.job_id);
        status->set_task_id(id);
        status->set_state(proto::TASK_RUNNING);
        status->set_records_in(1000);
        status->set_records_out(1000);
      }
    }
    grpc::ClientContext context;
    proto::HeartbeatResponse response;
    return cluster_->Heartbeat(&context, request, &response).ok() && response.known();
  }
  size_t tasks() {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }
  uint64_t deploy_bytes() {
    std::lock_guard lock(mutex_);
    return deploy_bytes_;
  }
  uint64_t acks() const { return acks_.load(); }

 private:
  struct Task {
    std::string job_id;
    uint32_t subtask = 0;
    uint32_t parallelism = 0;
    uint32_t max_parallelism = 0;
    std::vector<std::string> operator_ids;
  };

  void Acknowledge() {
    std::unique_lock lock(mutex_);
    while (true) {
      changed_.wait(lock, [&] { return stopping_ || !triggers_.empty(); });
      if (stopping_) return;
      proto::TriggerCheckpointRequest trigger = std::move(triggers_.front());
      triggers_.pop_front();
      auto it = tasks_.find(trigger.task_id());
      if (it == tasks_.end()) continue;
      proto::AcknowledgeCheckpointRequest ack;
      ack.set_worker_id(id_);
      ack.set_job_id(it->second.job_id);
      ack.set_checkpoint_id(trigger.checkpoint_id());
      ack.set_coordinator_epoch(epoch_);
      proto::TaskSnapshot* snapshot = ack.mutable_snapshot();
      snapshot->set_task_id(trigger.task_id());
      for (const std::string& op : it->second.operator_ids) snapshot->add_operator_ids(op);
      snapshot->set_subtask(it->second.subtask);
      snapshot->set_parallelism(it->second.parallelism);
      snapshot->set_max_parallelism(it->second.max_parallelism);
      snapshot->set_source_position("{\"next\":1000}");
      lock.unlock();
      grpc::ClientContext context;
      proto::AcknowledgeCheckpointResponse response;
      if (cluster_->AcknowledgeCheckpoint(&context, ack, &response).ok()) ++acks_;
      lock.lock();
    }
  }
  // Heartbeats without statuses every 500 ms so the coordinator keeps the worker.
  void KeepAlive() {
    std::unique_lock lock(mutex_);
    while (!changed_.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping_; })) {
      lock.unlock();
      proto::HeartbeatRequest request;
      request.set_worker_id(id_);
      request.set_coordinator_epoch(epoch_);
      grpc::ClientContext context;
      proto::HeartbeatResponse response;
      (void)cluster_->Heartbeat(&context, request, &response);
      lock.lock();
    }
  }

  Fleet& fleet_;
  StartedServer server_;
  std::string id_;
  uint64_t epoch_ = 0;
  proto::ClusterService::Stub* cluster_ = nullptr;
  std::thread acker_;
  std::thread keepalive_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::string, Task> tasks_;
  std::deque<proto::TriggerCheckpointRequest> triggers_;
  uint64_t deploy_bytes_ = 0;
  bool stopping_ = false;
  std::atomic<uint64_t> acks_{0};
};

void Fleet::Triggered(uint64_t checkpoint) {
  {
    std::lock_guard lock(mutex);
    if (checkpoint <= last_triggered) return;
    last_triggered = checkpoint;
  }
  for (FakeWorker* worker : workers) worker->AcknowledgeAll(checkpoint);
}

// `tasks` tasks: "chain" is one source -> sink chain at parallelism `tasks` (no exchange);
// "keyed" is source -> keyBy -> sink at parallelism tasks / 2 (every source subtask routes to
// every sink subtask).
proto::JobSpec Spec(const std::string& shape, uint32_t tasks) {
  proto::JobSpec spec;
  spec.set_name("coordinator-bench-" + shape);
  spec.set_checkpoint_interval_ms(3600 * 1000);  // checkpoints on; only the savepoint runs
  spec.set_checkpoint_timeout_ms(600 * 1000);
  spec.set_max_parallelism(std::max<uint32_t>(128, tasks));
  proto::Operator* source = spec.add_operators();
  source->set_id("op1");
  source->set_name("source");
  source->set_kind("source.generator");
  source->set_config_json("{\"count\":1000000}");
  proto::Operator* sink = spec.add_operators();
  sink->set_id("op2");
  sink->set_name("sink");
  sink->set_kind("sink.discard");
  proto::Edge* edge = spec.add_edges();
  edge->set_from("op1");
  edge->set_to("op2");
  if (shape == "keyed") {
    spec.set_parallelism(tasks / 2);
    edge->set_partitioning(proto::HASH);
    edge->set_key_fn("(r) => r");
  } else {
    spec.set_parallelism(tasks);
    edge->set_partitioning(proto::FORWARD);
  }
  return spec;
}

// Submits the job and waits until it runs (or failed); its id, "" when it was refused.
std::string SubmitAndWait(proto::JobService::Stub& jobs, proto::JobSpec spec,
                          proto::JobInfo* info) {
  proto::SubmitJobRequest submit;
  *submit.mutable_spec() = std::move(spec);
  proto::SubmitJobResponse submitted;
  grpc::ClientContext context;
  grpc::Status status = jobs.SubmitJob(&context, submit, &submitted);
  if (!status.ok() || submitted.job_id().empty()) {
    std::fprintf(stderr, "submit failed: %s %s\n", status.error_message().c_str(),
                 submitted.DebugString().c_str());
    return "";
  }
  while (true) {
    grpc::ClientContext get_context;
    proto::GetJobRequest get;
    get.set_job_id(submitted.job_id());
    if (!jobs.GetJob(&get_context, get, info).ok()) return "";
    if (info->state() == proto::JOB_RUNNING || info->state() == proto::JOB_FAILED) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return submitted.job_id();
}

// Triggers a savepoint and waits until it completed.
bool Savepoint(proto::JobService::Stub& jobs, const std::string& job_id) {
  grpc::ClientContext context;
  proto::TriggerSavepointRequest request;
  request.set_job_id(job_id);
  proto::TriggerSavepointResponse savepoint;
  grpc::Status status = jobs.TriggerSavepoint(&context, request, &savepoint);
  if (!status.ok()) std::fprintf(stderr, "savepoint failed: %s\n", status.error_message().c_str());
  return status.ok();
}

int Run(int argc, char** argv) {
  std::map<std::string, std::string> args{{"--workers", "10"}, {"--shape", "chain"}};
  for (int i = 1; i + 1 < argc; i += 2) args[argv[i]] = argv[i + 1];
  if (!args.contains("--coordinator") || !args.contains("--pid") || !args.contains("--tasks")) {
    std::fprintf(stderr,
                 "usage: coordinator_bench --coordinator HOST:PORT --pid PID --tasks N "
                 "[--workers W] [--shape chain|keyed] [--rounds R]\n");
    return 2;
  }
  const int pid = std::stoi(args["--pid"]);
  const uint32_t tasks = static_cast<uint32_t>(std::stoul(args["--tasks"]));
  const uint32_t worker_count = static_cast<uint32_t>(std::stoul(args["--workers"]));
  // By default about 200,000 task statuses in all, enough for the CPU clock's 10 ms ticks.
  const int rounds = args.contains("--rounds")
                         ? std::stoi(args["--rounds"])
                         : std::max(5, static_cast<int>(200000 / std::max<uint32_t>(1, tasks)));
  const std::string shape = args["--shape"];
  auto channel = MakeChannel(args["--coordinator"], {});
  auto cluster = proto::ClusterService::NewStub(channel);
  auto jobs = proto::JobService::NewStub(channel);

  Fleet fleet;
  std::vector<std::unique_ptr<FakeWorker>> workers;
  for (uint32_t w = 0; w < worker_count; ++w) workers.push_back(std::make_unique<FakeWorker>(fleet));
  for (auto& worker : workers) fleet.workers.push_back(worker.get());
  for (uint32_t w = 0; w < worker_count; ++w) {
    if (!workers[w]->Start(*cluster, tasks / worker_count + 1)) {
      std::fprintf(stderr, "a simulated worker could not start or register\n");
      return 1;
    }
  }

  // Deploy.
  double cpu = CpuMs(pid);
  Clock::time_point start = Clock::now();
  proto::JobInfo info;
  const std::string job_id = SubmitAndWait(*jobs, Spec(shape, tasks), &info);
  if (job_id.empty()) return 1;
  const double deploy_ms = Ms(Clock::now() - start);
  const double deploy_cpu = CpuMs(pid) - cpu;
  size_t deployed = 0;
  uint64_t deploy_bytes = 0;
  for (auto& worker : workers) {
    deployed += worker->tasks();
    deploy_bytes += worker->deploy_bytes();
  }
  if (info.state() != proto::JOB_RUNNING || deployed != tasks) {
    std::fprintf(stderr, "the job did not run (%s), %zu of %u tasks deployed: %s\n",
                 proto::JobState_Name(info.state()).c_str(), deployed, tasks,
                 info.failure().c_str());
    return 1;
  }

  // Heartbeats: every worker in turn, `rounds` times.
  cpu = CpuMs(pid);
  start = Clock::now();
  for (int r = 0; r < rounds; ++r) {
    for (auto& worker : workers) {
      if (!worker->Heartbeat()) {
        std::fprintf(stderr, "a heartbeat was refused\n");
        return 1;
      }
    }
  }
  const double heartbeat_ms = Ms(Clock::now() - start);
  const double heartbeat_cpu = CpuMs(pid) - cpu;
  const double heartbeats = static_cast<double>(rounds) * worker_count;

  // A savepoint: a trigger per task, an acknowledgement per task.
  cpu = CpuMs(pid);
  start = Clock::now();
  if (!Savepoint(*jobs, job_id)) return 1;
  const double savepoint_ms = Ms(Clock::now() - start);
  const double savepoint_cpu = CpuMs(pid) - cpu;

  {
    grpc::ClientContext context;
    proto::CancelJobRequest cancel;
    cancel.set_job_id(job_id);
    proto::JobInfo cancelled;
    (void)jobs->CancelJob(&context, cancel, &cancelled);
  }
  for (auto& worker : workers) worker->Stop();
  uint64_t acks = 0;
  for (auto& worker : workers) acks += worker->acks();

  std::printf(
      "| %s | %u | %u | %.0f ms (%.0f ms CPU, %.1f MB of deployments) | %.2f ms CPU (%.1f us a "
      "task status) | %.0f ms, %.1f us CPU an ack (%llu acks) |\n",
      shape.c_str(), tasks, worker_count, deploy_ms, deploy_cpu,
      static_cast<double>(deploy_bytes) / 1e6, heartbeat_cpu / heartbeats,
      heartbeat_cpu * 1000 / heartbeats / (static_cast<double>(tasks) / worker_count),
      savepoint_ms, savepoint_cpu * 1000 / static_cast<double>(tasks),
      static_cast<unsigned long long>(acks));
  std::fprintf(stderr, "heartbeats: %.0f in %.0f ms wall\n", heartbeats, heartbeat_ms);
  return 0;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Run(argc, argv); }
