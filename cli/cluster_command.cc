#include "cli/cluster_command.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "cli/commands.h"
#include "cli/security_options.h"
#include "coordinator/coordinator_metrics.h"

namespace sluice::cli {
namespace {

constexpr auto kPoll = std::chrono::milliseconds(100);
constexpr auto kStopGrace = std::chrono::seconds(10);
constexpr auto kRegisterTimeout = std::chrono::seconds(30);

volatile std::sig_atomic_t g_stop = 0;

void OnStopSignal(int) { g_stop = 1; }

std::string SelfPath() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n <= 0) return "/proc/self/exe";
  path[n] = '\0';
  return path;
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "stopped";
}

// Starts `argv` as a child in its own process group (a Ctrl-C reaches only us, and we stop the
// workers in order) that gets SIGTERM if this process dies without stopping it.
Result<pid_t> SpawnWorker(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return Status::External(std::string("cannot fork a worker: ") + strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls until exec: the parent has threads.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Sends SIGTERM to every worker still alive, waits for them (SIGKILL after a grace period).
void StopWorkers(std::map<pid_t, int>& alive) {
  for (const auto& [pid, index] : alive) kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + kStopGrace;
  while (!alive.empty()) {
    for (auto it = alive.begin(); it != alive.end();) {
      int status = 0;
      pid_t done = waitpid(it->first, &status, WNOHANG);
      it = done == it->first || (done < 0 && errno == ECHILD) ? alive.erase(it) : std::next(it);
    }
    if (alive.empty()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      for (const auto& [pid, index] : alive) {
        std::fprintf(stderr, "worker %d (pid %d) did not stop; killing it\n", index, pid);
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
      alive.clear();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Waits until `count` workers have registered; false if interrupted or it takes too long.
bool AwaitWorkers(coordinator::CoordinatorNode& node, size_t count) {
  auto deadline = std::chrono::steady_clock::now() + kRegisterTimeout;
  while (!g_stop && std::chrono::steady_clock::now() < deadline) {
    if (static_cast<size_t>(node.ListWorkers().workers_size()) >= count) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

// Starts the cluster's workers against the coordinator at `address`, each on a free port of
// its host; 1 (and a stop) when one cannot be started, else 0.
int SpawnWorkers(const ClusterOptions& options, const std::string& address,
                 std::map<pid_t, int>* alive) {
  const std::string self = SelfPath();
  const std::string host = address.substr(0, address.rfind(':'));
  for (uint32_t i = 1; i <= options.workers && !g_stop; ++i) {
    std::vector<std::string> argv = {self,     "worker",     "--coordinator",
                                     address,  "--listen",   host + ":0",
                                     "--slots", std::to_string(options.slots)};
    for (std::string& arg : LimitArgs(options.limits)) argv.push_back(std::move(arg));
    for (std::string& arg : SecurityArguments(options.security)) argv.push_back(std::move(arg));
    auto pid = SpawnWorker(argv);
    if (!pid.ok()) {
      std::fprintf(stderr, "error: %s\n", pid.status().message().c_str());
      g_stop = 1;
      return 1;
    }
    (*alive)[*pid] = static_cast<int>(i);
    std::printf("worker %u pid %d\n", i, *pid);
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int RunCluster(const ClusterOptions& options) {
  if (options.workers == 0) {
    std::fprintf(stderr, "error: a cluster needs at least one worker (--workers)\n");
    return 2;
  }
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  MetricsRegistry metrics;
  std::unique_ptr<coordinator::http::HttpApi> api;
  Status made = Status::Ok();
  auto node = StartCoordinator(options.listen, options.data_dir, options.checkpoint_dir, 5000, "",
                               options.limits.limits,
                               [&](coordinator::CoordinatorNode& n) {
                                 HttpFlags http = options.http;
                                 http.auth_token_file = options.security.token_file;
                                 auto created = MakeHttpApi(http, n, &metrics);
                                 if (created.ok()) api = std::move(created).value();
                                 made = created.status();
                               },
                               options.security, options.insecure);
  if (!made.ok()) {
    std::fprintf(stderr, "error: %s\n", made.message().c_str());
    return 2;
  }
  if (!node.ok()) {
    std::fprintf(stderr, "error: %s\n", node.status().message().c_str());
    return node.status().domain() == ErrorDomain::kUser ? 2 : 1;
  }
  const std::string address = (*node)->address();
  int collector = metrics.AddCollector(
      [&](MetricsWriter& w) { coordinator::CollectCoordinatorMetrics(**node, w); });
  Status serving = ServeHttp(options.http, *api);
  if (!serving.ok()) {
    std::fprintf(stderr, "error: %s\n", serving.message().c_str());
    (*node)->Shutdown();
    return 1;
  }
  std::printf("coordinator listening on %s\nplayground on http://%s/\n", address.c_str(),
              api->address().c_str());
  std::fflush(stdout);

  std::map<pid_t, int> alive;  // pid -> worker number, from 1
  const int exit_code = SpawnWorkers(options, address, &alive);
  if (!g_stop) {
    if (AwaitWorkers(**node, options.workers)) {
      std::printf("cluster ready: %u workers with %u slots each\n", options.workers, options.slots);
    } else if (!g_stop) {
      std::fprintf(stderr, "warning: not every worker registered within %lld s\n",
                   static_cast<long long>(kRegisterTimeout.count()));
    }
    std::fflush(stdout);
  }

  while (!g_stop) {
    int status = 0;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0 && alive.count(pid) != 0) {
      int index = alive[pid];
      alive.erase(pid);
      std::fprintf(stderr, "worker %d (pid %d) %s; %zu workers left (it is not restarted)\n", index,
                   pid, DescribeExit(status).c_str(), alive.size());
      continue;
    }
    std::this_thread::sleep_for(kPoll);
  }
  std::fprintf(stderr, "stopping the cluster: %zu workers, then the coordinator\n", alive.size());
  StopWorkers(alive);
  api->Stop();
  metrics.RemoveCollector(collector);
  (*node)->Shutdown();
  return exit_code;
}

}  // namespace sluice::cli
