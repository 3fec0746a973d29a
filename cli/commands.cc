#include "cli/commands.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <memory>
#include <thread>

#include <unistd.h>

#include "cli/job_client.h"
#include "cli/printable.h"
#include "common/auth.h"
#include "common/metrics.h"
#include "common/operator_kinds.h"
#include "common/status.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/etcd_job_store.h"
#include "worker/js/js_engine.h"
#include "worker/worker_node.h"

namespace sluice::cli {
namespace {

std::string Bytes(uint64_t bytes) {
  char text[32];
  if (bytes < (1u << 20)) {
    std::snprintf(text, sizeof text, "%.1f KB", bytes / 1024.0);
  } else {
    std::snprintf(text, sizeof text, "%.1f MB", bytes / 1048576.0);
  }
  return text;
}

// The latest checkpoint's cost: its slowest task's synchronous part (records stood still) and
// asynchronous part, and its keyed state's size, full and written anew.
void PrintCheckpointCost(const proto::JobInfo& job) {
  std::printf("  latest checkpoint: sync %.1f ms, async %.1f ms (slowest task); state %s, %s new\n",
              job.last_checkpoint_sync_us() / 1000.0, job.last_checkpoint_async_us() / 1000.0,
              Bytes(job.last_checkpoint_full_bytes()).c_str(),
              Bytes(job.last_checkpoint_incremental_bytes()).c_str());
}

volatile std::sig_atomic_t g_interrupted = 0;
// `run` and `submit`: a second SIGINT/SIGTERM exits at once (the servers shut down gracefully).
volatile std::sig_atomic_t g_second_signal_exits = 0;
// After SIGINT/SIGTERM, how long `sluice run` waits for its job to end before it exits anyway.
constexpr auto kStopGrace = std::chrono::seconds(10);

void OnSignal(int) {
  if (g_interrupted && g_second_signal_exits) {
    // A second signal: the user has waited enough.
    constexpr char kMessage[] = "interrupted again: exiting now\n";
    static_cast<void>(write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1));
    _exit(130);
  }
  g_interrupted = 1;
}

void InstallSignalHandlers() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

bool Interrupted() { return g_interrupted != 0; }

bool IsTaskEnded(proto::TaskState state) {
  return state == proto::TASK_FINISHED || state == proto::TASK_CANCELED ||
         state == proto::TASK_FAILED;
}

int Fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  if (status.code() == StatusCode::kCancelled) return 130;
  return status.domain() == ErrorDomain::kUser ? 2 : 1;
}

bool IsTerminal(proto::JobState state) {
  return state == proto::JOB_FINISHED || state == proto::JOB_CANCELED || state == proto::JOB_FAILED;
}

bool HasCollectSink(const proto::JobSpec& spec) {
  for (const auto& op : spec.operators()) {
    if (CollectsResults(op.kind())) return true;
  }
  return false;
}

coordinator::FunctionChecker V8Checker() {
  return [](const std::string& source) { return js::V8Engine().CheckFunction(source); };
}

// Prints every validation problem; returns the exit code for an invalid job.
int ReportProblems(const proto::JobSpec& spec, const proto::SubmitJobResponse& response) {
  std::fprintf(stderr, "error: job '%s' was refused:\n", Printable(spec.name()).c_str());
  for (const auto& problem : response.problems()) {
    std::fprintf(stderr, "  - %s\n", Printable(problem.message()).c_str());
  }
  return 2;
}

// Polls the job until it ends; on SIGINT/SIGTERM cancels it, and gives up waiting (a
// kDeadlineExceeded Status) when it has not ended kStopGrace after the cancel.
Result<proto::JobInfo> WaitForJob(JobClient& client, const std::string& job_id) {
  bool cancel_sent = false;
  std::chrono::steady_clock::time_point give_up;
  std::map<std::string, bool> troubled;  // task id -> its connectors reported a problem
  std::set<std::string> ended;           // tasks whose end was taken into account
  while (true) {
    if (g_interrupted && !cancel_sent) {
      std::fprintf(stderr, "cancelling job %s\n", job_id.c_str());
      auto canceled = client.Cancel(job_id);
      if (!canceled.ok()) return canceled.status();
      cancel_sent = true;
      give_up = std::chrono::steady_clock::now() + kStopGrace;
    }
    if (cancel_sent && std::chrono::steady_clock::now() > give_up) {
      return Status(StatusCode::kDeadlineExceeded, ErrorDomain::kInternal,
                    "job " + job_id + " did not stop within " +
                        std::to_string(kStopGrace.count()) +
                        " s of the cancel (a task is blocked and does not see it); exiting "
                        "without waiting for it");
    }
    auto info = client.Get(job_id);
    if (!info.ok()) return info.status();
    // A connector retrying an endpoint would otherwise make the run wait in silence: say so
    // once when it starts and once when it is over.
    for (const auto& task : info->tasks()) {
      bool& was = troubled[task.task_id()];
      if (ended.count(task.task_id()) > 0) continue;
      // A task canceled mid-retry keeps its last problem in its final status, even when no
      // earlier poll saw it.
      const bool retrying_at_end = task.state() == proto::TASK_CANCELED && !task.detail().empty();
      if (IsTaskEnded(task.state())) ended.insert(task.task_id());
      if ((was || retrying_at_end) && IsTaskEnded(task.state())) {
        // Its problem is cleared because the task ended, not because the endpoint came back.
        if (task.state() == proto::TASK_CANCELED) {
          std::fprintf(stderr, "task %s: canceled while its connectors were still retrying\n",
                       task.task_id().c_str());
        } else if (task.state() == proto::TASK_FINISHED) {  // it delivered after all
          std::fprintf(stderr, "task %s: its connectors reach their endpoints again\n",
                       task.task_id().c_str());
        }
        was = false;
        continue;
      }
      if (!was && !task.detail().empty()) {
        std::fprintf(stderr, "task %s: %s\n", task.task_id().c_str(),
                     Printable(task.detail()).c_str());
      } else if (was && task.detail().empty()) {
        std::fprintf(stderr, "task %s: its connectors reach their endpoints again\n",
                     task.task_id().c_str());
      }
      was = !task.detail().empty();
    }
    if (IsTerminal(info->state())) return info;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status WriteResults(JobClient& client, const std::string& job_id, std::ostream& out) {
  uint64_t offset = 0;
  while (true) {
    auto page = client.Results(job_id, offset);
    if (!page.ok()) return page.status();
    for (const auto& record : page->records()) out << record << '\n';
    offset = page->next_offset();
    if (page->partial() && offset == static_cast<uint64_t>(page->records_size())) {
      std::fprintf(stderr,
                   "warning: job %s was resumed by a restarted coordinator; the results it "
                   "collected before are lost, these are partial\n",
                   job_id.c_str());
    }
    if (page->complete() || page->records_size() == 0) break;
  }
  out.flush();
  return Status::Ok();
}

// Stops the embedded worker and coordinator. After an interrupt, a task the cancel did not
// reach (blocked in a read, say) would hold the worker's shutdown for ever: it gets the grace,
// then the process leaves.
void StopEmbedded(worker::WorkerNode& worker, coordinator::CoordinatorNode& coordinator,
                  const std::string& job_id) {
  if (!Interrupted()) {
    worker.Shutdown();
    coordinator.Shutdown();
    return;
  }
  auto stopped = std::make_shared<std::promise<void>>();
  std::future<void> done = stopped->get_future();
  std::thread stopper([&worker, &coordinator, stopped] {
    worker.Shutdown();
    coordinator.Shutdown();
    stopped->set_value();
  });
  if (done.wait_for(kStopGrace) != std::future_status::ready) {
    std::fprintf(stderr,
                 "error: job %s: a task did not stop within %lld s of the cancel (it is "
                 "blocked and does not see it); exiting without waiting for it\n",
                 job_id.c_str(), static_cast<long long>(kStopGrace.count()));
    std::fflush(stdout);
    std::_Exit(130);
  }
  stopper.join();
}

// The final line of `sluice run` and its exit code: 0 finished, 130 canceled, 1 failed.
int ReportJobEnd(const proto::JobInfo& info, const std::string& job_name) {
  switch (info.state()) {
    case proto::JOB_FINISHED: {
      uint64_t records_in = 0, records_out = 0;
      for (const auto& task : info.tasks()) {
        records_in += task.records_in();
        records_out += task.records_out();
      }
      std::fprintf(stderr, "job %s finished in %llu ms: %llu records in, %llu out\n",
                   info.job_id().c_str(),
                   static_cast<unsigned long long>(info.ended_at_ms() - info.submitted_at_ms()),
                   static_cast<unsigned long long>(records_in),
                   static_cast<unsigned long long>(records_out));
      return 0;
    }
    case proto::JOB_CANCELED:
      std::fprintf(stderr, "job %s was canceled\n", info.job_id().c_str());
      return 130;
    default:
      std::fprintf(stderr, "error: job '%s' failed: %s\n", Printable(job_name).c_str(),
                   info.failure().c_str());
      return 1;
  }
}

}  // namespace

int RunEmbedded(const RunOptions& options) {
  // The final line says why a job failed; the servers' warnings would only repeat it.
  if (std::getenv("SLUICE_LOG") == nullptr) spdlog::set_level(spdlog::level::err);
  // From the start: a signal while the job compiles stops the compiler (and its children).
  g_second_signal_exits = 1;
  InstallSignalHandlers();
  auto spec = LoadJob(options.job_file, options.overrides, Interrupted);
  if (!spec.ok()) return Fail(spec.status());

  coordinator::CoordinatorOptions coordinator_options;
  coordinator_options.listen = "127.0.0.1:0";
  coordinator_options.limits = options.limits.limits;
  coordinator::CoordinatorNode coordinator(coordinator_options, V8Checker());
  Status started = coordinator.Start();
  if (!started.ok()) return Fail(started);
  worker::WorkerOptions worker_options;
  worker_options.coordinator = coordinator.address();
  worker_options.listen = "127.0.0.1:0";
  worker_options.slots = 4096;  // one process: every task gets a thread
  worker_options.limits = options.limits.limits;
  worker_options.allow_paths = options.limits.allow_paths;
  worker_options.driver_dir = options.driver_dir;
  if (worker_options.allow_paths.empty()) {
    worker_options.allow_paths.push_back(std::filesystem::current_path().string());
  }
  worker::WorkerNode worker(worker_options, js::V8Engine());
  started = worker.Start();
  if (!started.ok()) return Fail(started);

  JobClient client(coordinator.address());
  auto response = client.Submit(*spec);
  if (!response.ok()) return Fail(response.status());
  if (response->problems_size() > 0) return ReportProblems(*spec, *response);
  std::fprintf(stderr, "job %s '%s' running on the embedded cluster\n", response->job_id().c_str(),
               Printable(spec->name()).c_str());

  auto info = WaitForJob(client, response->job_id());
  if (!info.ok() && info.status().code() == StatusCode::kDeadlineExceeded) {
    // Shutting the embedded worker down would wait for the blocked task: leave at once.
    std::fprintf(stderr, "error: %s\n", info.status().message().c_str());
    std::fflush(stdout);
    std::_Exit(130);
  }
  if (!info.ok()) return Fail(info.status());
  if (HasCollectSink(*spec)) {
    Status written;
    if (!options.results_file.empty()) {
      std::ofstream out(options.results_file);
      written = WriteResults(client, response->job_id(), out);
    } else {
      written = WriteResults(client, response->job_id(), std::cout);
    }
    if (!written.ok()) return Fail(written);
  }
  StopEmbedded(worker, coordinator, info->job_id());
  return ReportJobEnd(*info, spec->name());
}

int Submit(const std::string& job_file, const JobOverrides& overrides,
           const std::string& coordinator) {
  g_second_signal_exits = 1;
  InstallSignalHandlers();
  auto spec = LoadJob(job_file, overrides, Interrupted);
  if (!spec.ok()) return Fail(spec.status());
  if (Interrupted()) return Fail(Status::Cancelled("interrupted before the job was submitted"));
  JobClient client(CoordinatorAddress(coordinator));
  auto response = client.Submit(*spec);
  if (!response.ok()) return Fail(response.status());
  if (response->problems_size() > 0) return ReportProblems(*spec, *response);
  std::printf("%s\n", response->job_id().c_str());
  return 0;
}

int List(const std::string& coordinator) {
  JobClient client(CoordinatorAddress(coordinator));
  auto jobs = client.List();
  if (!jobs.ok()) return Fail(jobs.status());
  std::printf("%-14s %-10s %-6s %s\n", "ID", "STATE", "TASKS", "NAME");
  for (const auto& job : jobs->jobs()) {
    std::printf("%-14s %-10s %-6d %s\n", job.job_id().c_str(), JobStateName(job.state()).c_str(),
                job.tasks_size(), Printable(job.name()).c_str());
  }
  return 0;
}

int ShowStatus(const std::string& job_id, const std::string& coordinator) {
  JobClient client(CoordinatorAddress(coordinator));
  auto job = client.Get(job_id);
  if (!job.ok()) return Fail(job.status());
  std::printf("job:    %s\nname:   %s\nstate:  %s\n", Printable(job->job_id()).c_str(),
              Printable(job->name()).c_str(), JobStateName(job->state()).c_str());
  if (!job->failure().empty()) std::printf("reason: %s\n", Printable(job->failure()).c_str());
  if (job->ended_at_ms() >= job->submitted_at_ms() && job->ended_at_ms() > 0) {
    std::printf("ran:    %llu ms\n",
                static_cast<unsigned long long>(job->ended_at_ms() - job->submitted_at_ms()));
  }
  if (job->checkpoints_completed() > 0 || job->checkpoints_failed() > 0) {
    std::printf("checkpoints: %llu completed, %llu failed; latest %llu at %s (%llu ms)\n",
                static_cast<unsigned long long>(job->checkpoints_completed()),
                static_cast<unsigned long long>(job->checkpoints_failed()),
                static_cast<unsigned long long>(job->last_checkpoint_id()),
                Printable(job->last_checkpoint_path()).c_str(),
                static_cast<unsigned long long>(job->last_checkpoint_duration_ms()));
    if (job->last_checkpoint_id() > 0) PrintCheckpointCost(*job);
  }
  if (job->restarts() > 0) {
    std::printf("restarts: %u (last: %s)\n", job->restarts(),
                Printable(job->last_restart_reason()).c_str());
  }
  if (job->resumes() > 0) {
    std::printf("resumes: %u (attempt %u)%s\n", job->resumes(), job->attempt(),
                job->results_partial()
                    ? "; collected results from before the coordinator restart are lost"
                    : "");
  }
  std::printf("tasks:\n");
  for (const auto& task : job->tasks()) {
    std::printf("  %-22s %-9s %-10s in %-10llu out %-10llu %s\n", task.task_id().c_str(),
                TaskStateName(task.state()).c_str(), task.worker_id().c_str(),
                static_cast<unsigned long long>(task.records_in()),
                static_cast<unsigned long long>(task.records_out()),
                Printable(task.operators()).c_str());
    if (!task.detail().empty()) std::printf("    %s\n", Printable(task.detail()).c_str());
    if (task.has_watermark() || task.backpressured_ms() > 0) {
      std::printf("    watermark %s, back-pressured %.1f s in total\n",
                  task.has_watermark() ? EventTime(task.watermark()).c_str() : "none yet",
                  static_cast<double>(task.backpressured_ms()) / 1000.0);
    }
  }
  return 0;
}

int Cancel(const std::string& job_id, const std::string& coordinator) {
  JobClient client(CoordinatorAddress(coordinator));
  auto job = client.Cancel(job_id);
  if (!job.ok()) return Fail(job.status());
  std::printf("%s %s\n", job->job_id().c_str(), JobStateName(job->state()).c_str());
  return 0;
}

int Savepoint(const std::string& job_id, const std::string& directory,
              const std::string& coordinator) {
  JobClient client(CoordinatorAddress(coordinator));
  auto savepoint = client.TriggerSavepoint(job_id, directory);
  if (!savepoint.ok()) return Fail(savepoint.status());
  std::printf("%s\n", savepoint->path().c_str());
  return 0;
}

int ListWorkers(const std::string& coordinator) {
  JobClient client(CoordinatorAddress(coordinator));
  auto workers = client.Workers();
  if (!workers.ok()) return Fail(workers.status());
  std::printf("%-12s %-22s %-6s %-9s %-8s %-10s %s\n", "ID", "ADDRESS", "SLOTS", "ASSIGNED",
              "RUNNING", "SEEN", "NAME");
  for (const auto& w : workers->workers()) {
    // Until its first heartbeat the coordinator does not know what a worker runs.
    std::string running = w.heartbeats() > 0 ? std::to_string(w.running_tasks()) : "-";
    std::string seen = std::to_string(w.last_seen_ms_ago()) + "ms ago";
    std::printf("%-12s %-22s %-6u %-9u %-8s %-10s %s\n", w.worker_id().c_str(), Printable(w.address()).c_str(),
                w.slots(), w.assigned_tasks(), running.c_str(), seen.c_str(),
                Printable(w.name()).c_str());
  }
  return 0;
}

Result<std::unique_ptr<coordinator::CoordinatorNode>> StartCoordinator(
    const std::string& listen, const std::string& data_dir, const std::string& checkpoint_dir,
    uint32_t worker_timeout_ms, const std::string& advertise, const ClusterLimits& limits,
    const std::function<void(coordinator::CoordinatorNode&)>& before_start,
    const SecurityFiles& security, bool insecure, size_t max_spec_bytes, const std::string& ha) {
  coordinator::CoordinatorOptions coordinator_options;
  coordinator_options.advertise = advertise;
  auto loaded = LoadClusterSecurity(security);
  if (!loaded.ok()) return loaded.status();
  coordinator_options.security = std::move(loaded).value();
  coordinator_options.insecure = insecure;
  coordinator_options.worker_timeout_ms = worker_timeout_ms;
  coordinator_options.limits = limits;
  coordinator_options.max_spec_bytes = max_spec_bytes;
  // At least four heartbeats fit in the timeout.
  coordinator_options.heartbeat_interval_ms = std::max(100u, std::min(1000u, worker_timeout_ms / 4));
  coordinator_options.listen = listen.empty() ? "127.0.0.1:7070" : listen;
  coordinator_options.checkpoint_dir =
      !checkpoint_dir.empty() ? checkpoint_dir
                              : (data_dir.empty() ? std::string() : data_dir + "/checkpoints");
  std::unique_ptr<coordinator::JobStore> store;
  if (!ha.empty()) {
    auto etcd = coordinator::EtcdClient::Create(ha);
    if (!etcd.ok()) return etcd.status();
    coordinator::EtcdJobStore::Options ha_options;
    ha_options.data_dir = data_dir;
    auto opened = coordinator::EtcdJobStore::Open(std::move(etcd).value(), ha_options);
    if (!opened.ok()) return opened.status();
    store = std::move(opened).value();
  } else if (!data_dir.empty()) {
    auto opened = coordinator::FileJobStore::Open(data_dir);
    if (!opened.ok()) return opened.status();
    store = std::move(opened).value();
  }
  auto node = std::make_unique<coordinator::CoordinatorNode>(coordinator_options, V8Checker(),
                                                             std::move(store));
  if (before_start) before_start(*node);
  SLUICE_RETURN_IF_ERROR(node->Start());
  return node;
}

int ServeCoordinator(const ServeOptions& options) {
  MetricsRegistry metrics;
  std::unique_ptr<coordinator::http::HttpApi> api;
  Status made = Status::Ok();
  auto node = StartCoordinator(options.listen, options.data_dir, options.checkpoint_dir,
                               options.worker_timeout_ms, options.advertise, options.limits.limits,
                               [&](coordinator::CoordinatorNode& n) {
                                 HttpFlags http = options.http;
                                 http.auth_token_file = options.security.token_file;
                                 auto created = MakeHttpApi(http, n, &metrics);
                                 if (created.ok()) api = std::move(created).value();
                                 made = created.status();
                               },
                               options.security, options.insecure, options.max_spec_bytes,
                               options.ha);
  if (!made.ok()) return Fail(made);
  if (!node.ok()) return Fail(node.status());
  int collector = metrics.AddCollector(
      [&](MetricsWriter& w) { coordinator::CollectCoordinatorMetrics(**node, w); });
  MetricsHttpServer http(metrics);
  auto token = LoadAuthToken(options.security.token_file);
  if (!token.ok()) return Fail(token.status());
  http.RequireToken(*token);
  Status serving = http.Start(options.metrics_listen);
  if (serving.ok()) serving = ServeHttp(options.http, *api);
  if (!serving.ok()) return Fail(serving);
  std::printf("coordinator listening on %s\nmetrics on http://%s/metrics\nplayground on http://%s/\n",
              (*node)->address().c_str(), http.address().c_str(), api->address().c_str());
  std::fflush(stdout);
  InstallSignalHandlers();
  while (!g_interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  api->Stop();
  // Job records are saved on every change; stop serving and say where they are.
  http.Stop();
  metrics.RemoveCollector(collector);
  (*node)->Shutdown();
  std::fprintf(stderr, "coordinator stopped%s\n",
               options.data_dir.empty() ? " (no --data-dir: jobs were not kept)"
                                        : (": jobs kept in " + options.data_dir).c_str());
  return 0;
}

int ServeWorker(const ServeOptions& options) {
  worker::WorkerOptions worker_options;
  worker_options.coordinator = CoordinatorAddress(options.coordinator);
  worker_options.listen = options.listen.empty() ? "127.0.0.1:0" : options.listen;
  worker_options.advertise = options.advertise;
  worker_options.slots = options.slots;
  worker_options.coordinator_timeout_ms = options.coordinator_timeout_ms;
  worker_options.inbox_bytes = static_cast<size_t>(options.inbox_mb) << 20;
  worker_options.state_dir = options.state_dir;
  worker_options.driver_dir = options.driver_dir;
  auto security = LoadClusterSecurity(options.security);
  if (!security.ok()) return Fail(security.status());
  worker_options.security = std::move(security).value();
  worker_options.insecure = options.insecure;
  worker_options.limits = options.limits.limits;
  worker_options.allow_paths = options.limits.allow_paths;
  MetricsRegistry metrics;
  worker_options.metrics = &metrics;
  worker::WorkerNode node(worker_options, js::V8Engine());
  MetricsHttpServer http(metrics);
  http.RequireToken(worker_options.security.token);
  http.AddProbe("/healthz", [&] { return node.Health(); });
  http.AddProbe("/readyz", [&] { return node.Readiness(); });
  Status serving = http.Start(options.metrics_listen);
  if (!serving.ok()) return Fail(serving);
  InstallSignalHandlers();
  int exit_code = 0;
  std::thread starter([&] {
    Status started = node.Start();
    if (!started.ok() && !g_interrupted) {
      std::fprintf(stderr, "error: %s\n", started.message().c_str());
      exit_code = started.domain() == ErrorDomain::kUser ? 2 : 1;
      g_interrupted = 1;
      return;
    }
    std::fprintf(stderr, "worker %s serving on %s, metrics on http://%s/metrics\n",
                 node.id().str().c_str(), node.address().c_str(), http.address().c_str());
  });
  while (!g_interrupted) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // Tell the coordinator first, so the jobs running here restart elsewhere at once.
  Status left = node.Leave("the worker process was asked to stop");
  if (!left.ok()) std::fprintf(stderr, "warning: %s\n", left.message().c_str());
  node.Shutdown();
  starter.join();
  return exit_code;
}

}  // namespace sluice::cli
