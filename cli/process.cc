#include "cli/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace sluice::cli {
namespace {

constexpr int kPollMs = 50;
constexpr auto kTermGrace = std::chrono::seconds(2);

// In the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(const std::vector<char*>& args, int out_fd, int read_fd,
                            pid_t parent) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(127);  // the parent died before prctl took effect
  // The parent's handlers are reset by exec; an ignored signal would stay ignored.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  dup2(out_fd, STDOUT_FILENO);
  close(out_fd);
  close(read_fd);
  execvp(args[0], args.data());
  _exit(127);
}

int ExitCode(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// Stops the child's process group: SIGTERM, then SIGKILL after the grace; reaps the child.
// The group is killed before the leader is reaped, while its id cannot have been reused.
void StopGroup(pid_t pid) {
  kill(-pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kTermGrace;
  siginfo_t info{};
  while (std::chrono::steady_clock::now() < deadline) {
    info.si_pid = 0;
    if (waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Result<ProcessOutput> RunProcess(const std::vector<std::string>& argv,
                                 const std::function<bool()>& interrupted) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return Status::Internal(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    const int error = errno;
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return Status::External("cannot start '" + argv[0] + "': " + std::strerror(error));
  }
  if (pid == 0) ExecChild(args, pipe_fds[1], pipe_fds[0], parent);
  setpgid(pid, pid);  // also here, so that a kill right away reaches the group
  close(pipe_fds[1]);
  ProcessOutput output;
  char buf[65536];
  while (true) {
    if (interrupted && interrupted()) {
      close(pipe_fds[0]);
      StopGroup(pid);
      return Status::Cancelled("interrupted: stopped '" + argv[0] + "' (process group " +
                               std::to_string(pid) + ")");
    }
    pollfd fd{pipe_fds[0], POLLIN, 0};
    const int ready = poll(&fd, 1, kPollMs);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
    if (n > 0) {
      output.stdout_text.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(pipe_fds[0]);
  int status = 0;
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) return Status::Internal(std::string("waitpid: ") + std::strerror(errno));
    if (interrupted && interrupted()) {
      StopGroup(pid);
      return Status::Cancelled("interrupted: stopped '" + argv[0] + "'");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  output.exit_code = ExitCode(status);
  return output;
}

}  // namespace sluice::cli
