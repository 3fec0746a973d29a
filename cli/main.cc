// The `sluice` command line: run a job on an embedded cluster, talk to a coordinator, or serve
// as a coordinator or worker.
#include <malloc.h>

#include <CLI/CLI.hpp>

#include "cli/cluster_command.h"
#include "cli/commands.h"
#include "cli/http_command.h"
#include "cli/env_names.h"
#include "cli/limit_flags.h"
#include "cli/security_options.h"
#include "common/log.h"

namespace {

// `run`: a job on an embedded cluster.
CLI::App* AddRunCommand(CLI::App& app, sluice::cli::RunOptions& run) {
  auto* run_cmd = app.add_subcommand(
      "run", "Run a job on an embedded local cluster (coordinator and worker in this process)");
  run_cmd->add_option("job", run.job_file, "Job file (.ts, .js) or compiled JobSpec (.json)")
      ->required();
  run_cmd->add_option("--parallelism,-p", run.overrides.parallelism,
                      "Parallelism for operators that do not set their own");
  run_cmd->add_option("--param", run.overrides.params, "Job parameter key=value (repeatable)");
  run_cmd->add_option("--from-savepoint", run.overrides.from_savepoint,
                      "Start from this savepoint or checkpoint directory (state, source "
                      "positions); the job may have another parallelism");
  run_cmd->add_option("--results", run.results_file,
                      "Write sink.collect records to this file (JSON lines) instead of stdout");
  run_cmd->add_option("--driver-dir", run.driver_dir,
                      "Write each task's generated JS driver (the code that runs the records "
                      "through its chain of operators) to <dir>/<task>.js");
  return run_cmd;
}

// What the commands that talk to a coordinator take.
struct ClientArgs {
  std::string coordinator;
  sluice::cli::JobOverrides submit_overrides;
  std::string submit_file;
  std::string job_id;
  std::string savepoint_dir;
  CLI::App* submit = nullptr;
  CLI::App* list = nullptr;
  CLI::App* status = nullptr;
  CLI::App* cancel = nullptr;
  CLI::App* savepoint = nullptr;
  CLI::App* workers = nullptr;
};

// submit, list, status, cancel, savepoint, workers: the commands that talk to a coordinator.
void AddClientCommands(CLI::App& app, ClientArgs& a) {
  a.submit = app.add_subcommand("submit", "Submit a job to a coordinator; prints its id");
  a.submit->add_option("job", a.submit_file, "Job file (.ts, .js) or JobSpec (.json)")->required();
  a.submit->add_option("--parallelism,-p", a.submit_overrides.parallelism,
                       "Parallelism for operators that do not set their own");
  a.submit->add_option("--param", a.submit_overrides.params, "Job parameter key=value");
  a.submit->add_option("--from-savepoint", a.submit_overrides.from_savepoint,
                       "Start from this savepoint or checkpoint directory (state, source "
                       "positions); the job may have another parallelism");

  a.list = app.add_subcommand("list", "List the coordinator's jobs");
  a.status = app.add_subcommand("status", "Show a job's state and tasks");
  a.status->add_option("job-id", a.job_id, "The job's id")->required();
  a.cancel = app.add_subcommand("cancel", "Cancel a job");
  a.cancel->add_option("job-id", a.job_id, "The job's id")->required();
  a.savepoint = app.add_subcommand(
      "savepoint", "Take a savepoint of a running job; prints its path (for --from-savepoint)");
  a.savepoint->add_option("job-id", a.job_id, "The job's id")->required();
  a.savepoint->add_option("--dir", a.savepoint_dir,
                          "Also copy the savepoint into this directory (and print that path)");
  a.workers = app.add_subcommand(
      "workers", "List the workers registered with the coordinator and the tasks they run");
  for (auto* cmd : {a.submit, a.list, a.status, a.cancel, a.workers, a.savepoint}) {
    cmd->add_option("--coordinator,-c", a.coordinator,
                    "Coordinator host:port, or several separated by commas (default "
                    "$SLUICE_COORDINATOR or 127.0.0.1:7070)");
    sluice::cli::AddClientSecurityOptions(*cmd);
  }
}

// `coordinator`: serve as the cluster's coordinator.
CLI::App* AddCoordinatorCommand(CLI::App& app, sluice::cli::ServeOptions& serve) {
  auto* coordinator_cmd = app.add_subcommand("coordinator", "Serve as the cluster's coordinator");
  coordinator_cmd->add_option("--listen", serve.listen, "host:port to serve on")
      ->default_str("127.0.0.1:7070");
  coordinator_cmd->add_option("--advertise", serve.advertise,
                              "host[:port] clients and workers reach this coordinator at "
                              "(default: the listen address; for 0.0.0.0, $POD_IP or this "
                              "host's first non-loopback address)");
  coordinator_cmd->add_option(
      "--data-dir", serve.data_dir,
      "Keep job records in this folder: a coordinator restarted on it resumes the jobs that "
      "were running from their latest completed checkpoint (collected results from before the "
      "restart are not kept). With --ha, a folder every coordinator shares. Default: none, jobs "
      "live in memory only");
  coordinator_cmd->add_option(
      "--ha", serve.ha,
      "etcd://host:port[,host:port...]: elect a leader among the coordinators started with the "
      "same etcd and --data-dir; the others stand by (answering reads) and take over when it "
      "dies");
  coordinator_cmd
      ->add_option("--metrics-listen", serve.metrics_listen,
                   "host:port of the Prometheus /metrics endpoint (port 0: any free; "
                   "the address is printed)")
      ->default_str("127.0.0.1:0");
  coordinator_cmd->add_option("--checkpoint-dir", serve.checkpoint_dir,
                              "Where jobs' checkpoints and savepoints go (a file system every "
                              "worker can reach); default <data-dir>/checkpoints, or "
                              "/tmp/sluice-checkpoints");
  coordinator_cmd
      ->add_option("--worker-timeout", serve.worker_timeout_ms,
                   "Milliseconds without a heartbeat after which a worker counts as lost (its "
                   "jobs restart from their last checkpoint, or fail)")
      ->default_val(5000);
  coordinator_cmd
      ->add_option("--max-spec-bytes", serve.max_spec_bytes,
                   "Largest job spec accepted, in bytes (serialized); a larger one is refused "
                   "with RESOURCE_EXHAUSTED (0: no limit)")
      ->default_val(sluice::coordinator::kDefaultMaxSpecBytes);
  coordinator_cmd->add_flag("--insecure", serve.insecure,
                            "Serve on a non-loopback address without an auth token");
  sluice::cli::AddServerSecurityOptions(*coordinator_cmd, serve.security);
  sluice::cli::AddHttpFlags(*coordinator_cmd, serve.http);
  return coordinator_cmd;
}

// `worker`: serve as a worker of a coordinator.
CLI::App* AddWorkerCommand(CLI::App& app, sluice::cli::ServeOptions& serve) {
  auto* worker_cmd = app.add_subcommand("worker", "Serve as a worker of a coordinator");
  worker_cmd->add_flag("--insecure", serve.insecure,
                       "Serve on a non-loopback address without an auth token");
  sluice::cli::AddServerSecurityOptions(*worker_cmd, serve.security);
  worker_cmd->add_option("--coordinator,-c", serve.coordinator,
                         "Coordinator host:port, or several separated by commas (a leader and "
                         "its standbys)");
  worker_cmd->add_option("--listen", serve.listen, "host:port to serve on (port 0: any free)")
      ->default_str("127.0.0.1:0");
  worker_cmd->add_option("--advertise", serve.advertise,
                         "host[:port] the coordinator and other workers reach this worker at "
                         "(default: the listen address; for 0.0.0.0, $POD_IP or this host's "
                         "first non-loopback address). A coordinator that is not on loopback "
                         "refuses a loopback or wildcard address");
  worker_cmd->add_option("--slots", serve.slots, "Task slots this worker offers")->default_val(4);
  worker_cmd
      ->add_option("--coordinator-timeout", serve.coordinator_timeout_ms,
                   "Milliseconds without an answer from the coordinator after which this worker "
                   "cancels its running tasks")
      ->default_val(10000);
  worker_cmd->add_option("--driver-dir", serve.driver_dir,
                         "Write each task's generated JS driver to <dir>/<task>.js");
  worker_cmd
      ->add_option("--inbox-mb", serve.inbox_mb,
                   "Megabytes the input queues of this worker's tasks may hold in all, shared "
                   "fairly (each task at most 4 MB, split between its input channels); a full "
                   "queue makes its upstream tasks wait")
      ->default_val(256)
      ->check(CLI::Range(1, 1 << 20));
  worker_cmd->add_option("--state-dir", serve.state_dir,
                         "Directory under which tasks keep their keyed state (RocksDB); default "
                         "/tmp/sluice-state-<pid>");
  worker_cmd
      ->add_option("--metrics-listen", serve.metrics_listen,
                   "host:port of the Prometheus /metrics endpoint and the /healthz and /readyz "
                   "probes (any address, e.g. 0.0.0.0:9090; port 0: any free; the address is "
                   "printed)")
      ->default_str("127.0.0.1:0");

  return worker_cmd;
}

// `cluster`: a coordinator and N worker processes in the foreground.
CLI::App* AddClusterCommand(CLI::App& app, sluice::cli::ClusterOptions& cluster) {
  auto* cluster_cmd = app.add_subcommand(
      "cluster",
      "Run a local cluster in the foreground: a coordinator in this process and N worker "
      "processes; prints the coordinator's address, the playground's URL and the workers' pids; "
      "Ctrl-C or SIGTERM "
      "stops them all");
  cluster_cmd->add_option("--workers,-n", cluster.workers, "Worker processes to start")
      ->default_val(2);
  cluster_cmd->add_option("--listen", cluster.listen, "host:port the coordinator serves on")
      ->default_val("127.0.0.1:7070");
  cluster_cmd->add_option("--slots", cluster.slots, "Task slots per worker")->default_val(4);
  cluster_cmd->add_option("--data-dir", cluster.data_dir,
                          "The coordinator's job records folder (see `coordinator --help`)");
  cluster_cmd->add_option("--checkpoint-dir", cluster.checkpoint_dir,
                          "Where checkpoints go (see `coordinator --help`)");
  cluster_cmd->add_flag("--insecure", cluster.insecure,
                        "Serve on a non-loopback address without an auth token");
  sluice::cli::AddServerSecurityOptions(*cluster_cmd, cluster.security);

  return cluster_cmd;
}

// `playground`: an embedded cluster with the HTTP API and the playground page.
CLI::App* AddPlaygroundCommand(CLI::App& app, sluice::cli::PlaygroundOptions& playground) {
  auto* playground_cmd = app.add_subcommand(
      "playground",
      "Run an embedded cluster (coordinator and worker in this process) with the HTTP API and "
      "the playground page; prints the page's URL and stays up until Ctrl-C");
  sluice::cli::AddHttpFlags(*playground_cmd, playground.http);
  playground_cmd->add_option("--auth-token-file", playground.http.auth_token_file,
                             "File holding the token HTTP clients send as 'Authorization: Bearer "
                             "<token>' (default $SLUICE_AUTH_TOKEN; none: no token)");
  playground_cmd->add_option("--listen", playground.listen,
                             "host:port of the coordinator's gRPC port (port 0: any free)")
      ->default_str("127.0.0.1:0");
  playground_cmd->add_option("--slots", playground.slots, "Task slots of the embedded worker")
      ->default_val(16);
  playground_cmd->add_option("--data-dir", playground.data_dir,
                             "The coordinator's job records folder (see `coordinator --help`)");
  playground_cmd->add_option("--checkpoint-dir", playground.checkpoint_dir,
                             "Where checkpoints go (see `coordinator --help`)");
  sluice::cli::AddLimitFlags(playground_cmd, &playground.limits, true, "none (no file access)");
  return playground_cmd;
}

}  // namespace

int main(int argc, char** argv) {
  // Exchange batches are buffers of a few hundred KB, made and freed for every batch. With
  // glibc's defaults each came from a fresh mapping (or the top of the heap was given back
  // and taken again), and the kernel's page faults on first touch cost more than the copy into
  // them: keep such buffers in the heap and recycle them.
  mallopt(M_MMAP_THRESHOLD, 16 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  sluice::InitLogging("warn");
  CLI::App app{"sluice: run TypeScript streaming jobs on a cluster of C++ workers"};
  app.require_subcommand(1);

  sluice::cli::RunOptions run;
  CLI::App* run_cmd = AddRunCommand(app, run);
  ClientArgs client;
  AddClientCommands(app, client);
  sluice::cli::ServeOptions serve;
  CLI::App* coordinator_cmd = AddCoordinatorCommand(app, serve);
  CLI::App* worker_cmd = AddWorkerCommand(app, serve);
  sluice::cli::ClusterOptions cluster;
  CLI::App* cluster_cmd = AddClusterCommand(app, cluster);
  sluice::cli::AddLimitFlags(run_cmd, &run.limits, true, "the working directory");
  sluice::cli::AddLimitFlags(coordinator_cmd, &serve.limits, false, "");
  sluice::cli::AddLimitFlags(worker_cmd, &serve.limits, true, "none (no file access)");
  sluice::cli::AddLimitFlags(cluster_cmd, &cluster.limits, true, "none (no file access)");
  sluice::cli::AddHttpFlags(*cluster_cmd, cluster.http);

  sluice::cli::PlaygroundOptions playground;
  CLI::App* playground_cmd = AddPlaygroundCommand(app, playground);

  sluice::cli::AddEnvironmentNames(app);

  CLI11_PARSE(app, argc, argv);

  if (*run_cmd) return sluice::cli::RunEmbedded(run);
  const ClientArgs& c = client;
  if (*c.submit) return sluice::cli::Submit(c.submit_file, c.submit_overrides, c.coordinator);
  if (*c.list) return sluice::cli::List(c.coordinator);
  if (*c.status) return sluice::cli::ShowStatus(c.job_id, c.coordinator);
  if (*c.cancel) return sluice::cli::Cancel(c.job_id, c.coordinator);
  if (*c.workers) return sluice::cli::ListWorkers(c.coordinator);
  if (*c.savepoint) return sluice::cli::Savepoint(c.job_id, c.savepoint_dir, c.coordinator);
  if (*cluster_cmd) return sluice::cli::RunCluster(cluster);
  if (*coordinator_cmd) {
    // One malloc arena for the coordinator, before any thread starts. With glibc's default
    // (one per thread, up to 8 per core) every gRPC thread that parsed a multi-MB JobSpec kept
    // its own arena of freed pages: 200 MB after six 6 MB submissions, and a few MB more per
    // submission after that (tests/e2e/spec_limits.test.mjs), against 50 MB flat with one
    // arena. Its threads mostly wait on one lock anyway; workers keep per-thread arenas.
    mallopt(M_ARENA_MAX, 1);
    return sluice::cli::ServeCoordinator(serve);
  }
  if (*playground_cmd) return sluice::cli::RunPlayground(playground);
  if (*worker_cmd) return sluice::cli::ServeWorker(serve);
  return 2;
}
