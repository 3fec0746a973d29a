#pragma once

#include <cstdint>
#include <string>

#include "cli/http_command.h"
#include "cli/limit_options.h"
#include "common/auth.h"

namespace sluice::cli {

struct ClusterOptions {
  uint32_t workers = 2;
  std::string listen = "127.0.0.1:7070";  // the coordinator's; workers take free ports
  uint32_t slots = 4;                     // per worker
  std::string data_dir;                   // the coordinator's; empty keeps jobs in memory
  std::string checkpoint_dir;             // the coordinator's (see ServeOptions)
  SecurityFiles security;                 // the coordinator's and, passed on, the workers'
  bool insecure = false;                  // serve a non-loopback address without a token
  HttpFlags http;                         // the coordinator's HTTP API and playground
  LimitOptions limits;                    // the coordinator's and every worker's
};

// `sluice cluster`: a coordinator in this process and `workers` worker processes (this same binary,
// `worker --coordinator ...`), in the foreground until SIGINT or SIGTERM, which stop the workers
// and then the coordinator. A worker that dies is reported on standard error and not restarted.
// Prints the coordinator's address, the playground's URL and the workers' pids on standard output.
int RunCluster(const ClusterOptions& options);

}  // namespace sluice::cli
