#pragma once

#include <functional>
#include <string>
#include <vector>

#include "cli/http_command.h"
#include "cli/job_loader.h"
#include "cli/limit_options.h"
#include "common/auth.h"
#include "common/status.h"
#include "coordinator/coordinator_node.h"

namespace sluice::cli {

// Each command prints its output on standard output, errors as one plain line on standard
// error, and returns the process exit code: 0 success, 1 a job failed or a call failed, 2 the
// input was invalid.

struct RunOptions {
  std::string job_file;
  JobOverrides overrides;
  std::string results_file;  // write collected records here instead of standard output
  LimitOptions limits;       // no allow_paths: the working directory
  std::string driver_dir;    // each task writes its generated JS driver here ("": nowhere)
};
int RunEmbedded(const RunOptions& options);

int Submit(const std::string& job_file, const JobOverrides& overrides,
           const std::string& coordinator);
int List(const std::string& coordinator);
int ShowStatus(const std::string& job_id, const std::string& coordinator);
int Cancel(const std::string& job_id, const std::string& coordinator);
// Lists the registered workers: slots, tasks placed there, tasks running per their heartbeats.
int ListWorkers(const std::string& coordinator);

struct ServeOptions {
  std::string listen;
  std::string advertise;  // the address others use (host[:port]); "": derived from listen
  std::string coordinator;
  uint32_t slots = 4;
  std::string data_dir;  // coordinator: where job records persist; empty: in memory
  std::string metrics_listen = "127.0.0.1:0";  // host:port of /metrics; port 0: any free
  uint32_t coordinator_timeout_ms = 10000;     // worker: when a silent coordinator counts as lost
  uint32_t inbox_mb = 256;                     // worker: what its tasks' inboxes may hold
  std::string state_dir;                       // worker: where tasks keep keyed state ("": /tmp)
  std::string driver_dir;  // worker: each task writes its generated JS driver here ("": nowhere)
  // coordinator: where checkpoints go; "": <data_dir>/checkpoints, or /tmp/sluice-checkpoints
  std::string checkpoint_dir;
  uint32_t worker_timeout_ms = 5000;  // coordinator: a worker silent this long is lost
  std::string ha;  // coordinator: "etcd://host:port[,...]" elects a leader among coordinators
  HttpFlags http;                     // coordinator: the HTTP API and playground
  LimitOptions limits;                // coordinator: checked at submit; worker: enforced
  SecurityFiles security;             // token and TLS files (security_options.h)
  bool insecure = false;              // serve a non-loopback address without a token
  size_t max_spec_bytes = coordinator::kDefaultMaxSpecBytes;  // coordinator: larger are refused
};
// The coordinator `coordinator` and `cluster` serve: V8 checks user functions; with a data
// directory its jobs are stored there and restored from it. Started and listening.
Result<std::unique_ptr<coordinator::CoordinatorNode>> StartCoordinator(
    const std::string& listen, const std::string& data_dir, const std::string& checkpoint_dir,
    uint32_t worker_timeout_ms = 5000, const std::string& advertise = "",
    const ClusterLimits& limits = {},
    const std::function<void(coordinator::CoordinatorNode&)>& before_start = nullptr,
    const SecurityFiles& security = {}, bool insecure = false,
    size_t max_spec_bytes = coordinator::kDefaultMaxSpecBytes, const std::string& ha = "");
// `sluice savepoint`: takes a savepoint of a running job and prints its path.
int Savepoint(const std::string& job_id, const std::string& directory,
              const std::string& coordinator);
int ServeCoordinator(const ServeOptions& options);
int ServeWorker(const ServeOptions& options);

}  // namespace sluice::cli
