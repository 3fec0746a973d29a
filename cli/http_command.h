#pragma once

#include <memory>
#include <string>

#include "cli/limit_options.h"
#include "common/metrics.h"
#include "common/status.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/http/http_api.h"

namespace CLI {
class App;
}

namespace sluice::cli {

// The coordinator's HTTP port, as `coordinator`, `cluster` and `playground` take it.
struct HttpFlags {
  std::string listen = "127.0.0.1:8080";
  bool listen_given = false;     // set by AddHttpFlags' parse: the default may move, a flag not
  std::string auth_token_file;   // "": $SLUICE_AUTH_TOKEN, else no token
  std::string playground_dir;    // "": the build's playground (see PlaygroundDir)
};
void AddHttpFlags(CLI::App& command, HttpFlags& flags);

// The HTTP API for `node`, made (and its output buffers installed on the node) before the node
// starts; ServeHttp then serves it. With the default address taken (another coordinator on this
// machine), a free port is used instead and a warning printed; an address given with
// --http-listen must be free.
Result<std::unique_ptr<coordinator::http::HttpApi>> MakeHttpApi(const HttpFlags& flags,
                                                                coordinator::CoordinatorNode& node,
                                                                MetricsRegistry* metrics);
Status ServeHttp(const HttpFlags& flags, coordinator::http::HttpApi& api);

// Where the built page is: --playground-dir, else $SLUICE_PLAYGROUND_DIR, else playground/ next
// to the binary's folder (build/cli/sluice -> build/playground), else the build tree's.
std::string PlaygroundDir(const std::string& flag);

struct PlaygroundOptions {
  HttpFlags http;
  std::string listen = "127.0.0.1:0";  // the coordinator's gRPC port
  uint32_t slots = 16;
  std::string data_dir;
  std::string checkpoint_dir;
  LimitOptions limits;  // the embedded worker's file roots and the cluster's limits
};
// `sluice playground`: a coordinator and a worker in this process, the HTTP API and the page;
// prints the page's URL and stays up until SIGINT or SIGTERM.
int RunPlayground(const PlaygroundOptions& options);

}  // namespace sluice::cli
