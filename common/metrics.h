#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace sluice {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Gathers samples during one scrape and renders them in Prometheus' text format (each metric's
// HELP and TYPE once, its samples together). Lives for one scrape, on the scraping thread.
class MetricsWriter {
 public:
  void Counter(const std::string& name, const std::string& help, const MetricLabels& labels,
               double value);
  void Gauge(const std::string& name, const std::string& help, const MetricLabels& labels,
             double value);
  std::string Render() const;

 private:
  struct Family {
    std::string type;
    std::string help;
    std::vector<std::pair<MetricLabels, double>> samples;
  };
  void Add(const std::string& name, const char* type, const std::string& help,
           const MetricLabels& labels, double value);
  std::map<std::string, Family> families_;
};

// The process's metrics: parts register collectors that report their current values when
// /metrics is scraped, so the hot path only bumps its own atomics. Thread-safe; one per process,
// owned by whoever wires the binary; collectors must be removed before what they read dies.
class MetricsRegistry {
 public:
  using Collector = std::function<void(MetricsWriter&)>;

  int AddCollector(Collector collector);
  void RemoveCollector(int id);
  std::string Render() const;

 private:
  mutable std::mutex mutex_;
  int next_id_ = 1;
  std::map<int, Collector> collectors_;
};

// Serves GET /metrics (Prometheus text) over HTTP on its own thread, and any probes added with
// AddProbe() (e.g. /healthz, /readyz). Probes and the token are set before Start(), which
// binds; the destructor stops and joins. With a token, /metrics answers 401 unless the request
// carries `Authorization: Bearer <token>` (Prometheus: `authorization.credentials_file`); the
// probes stay open for orchestrators and say only "ok" or why not.
class MetricsHttpServer {
 public:
  explicit MetricsHttpServer(const MetricsRegistry& registry);
  ~MetricsHttpServer();

  // GET `path` answers 200 "ok" when `check` returns ok, else 503 with its message. `check`
  // runs on the server's thread.
  using Probe = std::function<Status()>;
  void AddProbe(const std::string& path, Probe check);
  // The cluster token /metrics asks for; "" (the default) serves it to anyone.
  void RequireToken(std::string token) { token_ = std::move(token); }

  // `listen` is host:port; port 0 picks a free one. The address actually bound is address().
  Status Start(const std::string& listen);
  void Stop();
  const std::string& address() const { return address_; }

 private:
  const MetricsRegistry& registry_;
  std::unique_ptr<httplib::Server> server_;
  std::vector<std::pair<std::string, Probe>> probes_;
  std::string token_;
  std::thread thread_;
  std::string address_;
};

}  // namespace sluice
