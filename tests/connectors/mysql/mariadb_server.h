#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sluice::mysql::testing {

// A real MariaDB server for tests: mariadbd on a fresh data directory under /tmp, listening on
// 127.0.0.1 on a port the OS picked, with a database and a user that has a password. Stopped
// (SIGKILL) and its directory removed when destroyed. Queries as root go through the mariadb
// command line client over the server's socket. One per test program; used on one thread.
class MariaDbServer {
 public:
  static constexpr char kDatabase[] = "sluice";
  static constexpr char kUser[] = "sluice";
  static constexpr char kPassword[] = "sluice-pw";

  // The server, or null with `error` saying why it did not start.
  static std::unique_ptr<MariaDbServer> Start(std::string* error) {
    std::unique_ptr<MariaDbServer> server(new MariaDbServer());
    char pattern[] = "/tmp/sluice-mariadb-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    server->dir_ = pattern;
    const std::string data = server->dir_ + "/data";
    const std::string install = "mariadb-install-db --no-defaults --datadir=" + data +
                                " --auth-root-authentication-method=normal --skip-test-db" +
                                (::getuid() == 0 ? " --user=root" : "") + " > " + server->dir_ +
                                "/install.log 2>&1";
    if (std::system(install.c_str()) != 0) {
      *error = "mariadb-install-db failed: " + server->ReadFile("install.log");
      return nullptr;
    }
    server->port_ = FreePort();
    server->Launch();
    for (int i = 0; i < 600 && !server->Ping(); ++i) {
      int status = 0;
      if (::waitpid(server->pid_, &status, WNOHANG) == server->pid_) {
        server->pid_ = -1;
        *error = "mariadbd exited: " + server->ReadFile("error.log");
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::string output;
    if (!server->Run(std::string("CREATE DATABASE ") + kDatabase + "; CREATE USER '" + kUser +
                         "'@'%' IDENTIFIED BY '" + kPassword + "'; GRANT ALL ON " + kDatabase +
                         ".* TO '" + kUser + "'@'%';",
                     "", &output)) {
      *error = "cannot create the database and user: " + output;
      return nullptr;
    }
    return server;
  }

  ~MariaDbServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  uint16_t port() const { return port_; }

  // Runs SQL as root in the test database; the rows, each a vector of its columns as text.
  // A failing statement fails the current test.
  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    std::string output;
    if (!Run(sql, kDatabase, &output)) {
      ADD_FAILURE() << "mariadb -e \"" << sql << "\": " << output;
      return {};
    }
    std::vector<std::vector<std::string>> rows;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      std::vector<std::string> columns;
      std::istringstream fields(line);
      for (std::string field; std::getline(fields, field, '\t');) columns.push_back(field);
      rows.push_back(std::move(columns));
    }
    return rows;
  }

 private:
  MariaDbServer() = default;

  static uint16_t FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t size = sizeof(address);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
    ::close(fd);
    return ntohs(address.sin_port);
  }

  void Launch() {
    std::vector<std::string> args = {"mariadbd",
                                     "--no-defaults",
                                     "--datadir=" + dir_ + "/data",
                                     "--port=" + std::to_string(port_),
                                     "--bind-address=127.0.0.1",
                                     "--socket=" + Socket(),
                                     "--pid-file=" + dir_ + "/mysqld.pid",
                                     "--log-error=" + dir_ + "/error.log",
                                     "--skip-log-bin",
                                     "--innodb-buffer-pool-size=32M",
                                     "--innodb-log-file-size=16M"};
    if (::getuid() == 0) args.push_back("--user=root");
    pid_ = ::fork();
    if (pid_ == 0) {
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
      ::dup2(null, STDERR_FILENO);
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
  }

  std::string Socket() const { return dir_ + "/mysqld.sock"; }

  bool Ping() {
    std::string output;
    return Run("SELECT 1", "", &output);
  }

  // Runs `sql` with the command line client as root; false when it fails (`output` then has
  // its error).
  bool Run(const std::string& sql, const std::string& database, std::string* output) {
    const std::string input = dir_ + "/query.sql";
    const std::string result = dir_ + "/query.out";
    std::ofstream(input) << sql;
    const std::string command = "mariadb --no-defaults --socket=" + Socket() +
                                " -uroot --batch --skip-column-names " + database + " < " + input +
                                " > " + result + " 2>&1";
    const bool ok = std::system(command.c_str()) == 0;
    *output = ReadFile("query.out");
    return ok;
  }

  std::string ReadFile(const std::string& name) const {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream content;
    content << in.rdbuf();
    return content.str();
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sluice::mysql::testing
