#include "cli/http_command.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "common/auth.h"
#include "coordinator/coordinator_metrics.h"
#include "worker/js/js_engine.h"
#include "worker/worker_node.h"

namespace sluice::cli {
namespace {

volatile std::sig_atomic_t g_playground_stop = 0;
void OnPlaygroundSignal(int) { g_playground_stop = 1; }

bool HasIndex(const std::filesystem::path& dir) {
  std::error_code error;
  return std::filesystem::exists(dir / "index.html", error);
}

}  // namespace

void AddHttpFlags(CLI::App& command, HttpFlags& flags) {
  command
      .add_option_function<std::string>(
          "--http-listen",
          [&flags](const std::string& value) {
            flags.listen = value;
            flags.listen_given = true;
          },
          "host:port of the HTTP API, the playground page and /metrics (port 0: any free)")
      ->default_str("127.0.0.1:8080");
  // The token file is the gRPC one (--auth-token-file, security_options.h): the caller copies it
  // into flags.auth_token_file, so HTTP and gRPC share one cluster token.
  command.add_option("--playground-dir", flags.playground_dir,
                     "Folder of the built playground page (default: the build's)");
}

std::string PlaygroundDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("SLUICE_PLAYGROUND_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) {
    auto beside = self.parent_path().parent_path() / "playground";
    if (HasIndex(beside)) return beside.string();
  }
#ifdef SLUICE_PLAYGROUND_BUILD_DIR
  if (HasIndex(SLUICE_PLAYGROUND_BUILD_DIR)) return SLUICE_PLAYGROUND_BUILD_DIR;
#endif
  return "";
}

Result<std::unique_ptr<coordinator::http::HttpApi>> MakeHttpApi(const HttpFlags& flags,
                                                                coordinator::CoordinatorNode& node,
                                                                MetricsRegistry* metrics) {
  auto token = LoadAuthToken(flags.auth_token_file);
  if (!token.ok()) return token.status();
  coordinator::http::HttpOptions options;
  options.listen = flags.listen;
  options.auth_token = *token;
  options.playground_dir = PlaygroundDir(flags.playground_dir);
  if (options.playground_dir.empty()) {
    std::fprintf(stderr,
                 "warning: the playground page is not built (scripts/build.sh builds it); the "
                 "HTTP API is served without it\n");
  }
  auto api = std::make_unique<coordinator::http::HttpApi>(options, node, metrics);
  api->Install();
  return api;
}

Status ServeHttp(const HttpFlags& flags, coordinator::http::HttpApi& api) {
  Status started = api.Start();
  if (started.ok() || flags.listen_given) return started;
  // The default port is taken (e.g. another local coordinator): any free one will do.
  std::fprintf(stderr, "warning: %s; serving HTTP on a free port instead\n",
               started.message().c_str());
  return api.Start(flags.listen.substr(0, flags.listen.rfind(':')) + ":0");
}

int RunPlayground(const PlaygroundOptions& options) {
  std::signal(SIGINT, OnPlaygroundSignal);
  std::signal(SIGTERM, OnPlaygroundSignal);
  MetricsRegistry metrics;
  std::unique_ptr<coordinator::http::HttpApi> api;
  Status made = Status::Ok();
  auto node = StartCoordinator(
      options.listen, options.data_dir, options.checkpoint_dir, 5000, "", options.limits.limits,
      [&](coordinator::CoordinatorNode& n) {
        auto created = MakeHttpApi(options.http, n, &metrics);
        if (!created.ok()) {
          made = created.status();
          return;
        }
        api = std::move(created).value();
      });
  if (!made.ok()) {
    std::fprintf(stderr, "error: %s\n", made.message().c_str());
    return 2;
  }
  if (!node.ok()) {
    std::fprintf(stderr, "error: %s\n", node.status().message().c_str());
    return 1;
  }
  int collector = metrics.AddCollector(
      [&](MetricsWriter& w) { coordinator::CollectCoordinatorMetrics(**node, w); });
  worker::WorkerOptions worker_options;
  worker_options.coordinator = (*node)->address();
  worker_options.listen = "127.0.0.1:0";
  worker_options.slots = options.slots;
  worker_options.metrics = &metrics;
  worker_options.limits = options.limits.limits;
  worker_options.allow_paths = options.limits.allow_paths;
  worker::WorkerNode worker(worker_options, js::V8Engine());
  Status serving = ServeHttp(options.http, *api);
  if (serving.ok()) serving = worker.Start();
  if (!serving.ok()) {
    std::fprintf(stderr, "error: %s\n", serving.message().c_str());
    (*node)->Shutdown();
    return 1;
  }
  std::printf("coordinator listening on %s\nplayground on http://%s/\n", (*node)->address().c_str(),
              api->address().c_str());
  std::fflush(stdout);
  while (!g_playground_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::fprintf(stderr, "stopping the playground\n");
  api->Stop();
  worker.Shutdown();
  metrics.RemoveCollector(collector);
  (*node)->Shutdown();
  return 0;
}

}  // namespace sluice::cli
