#include "common/metrics.h"

#include <httplib.h>

#include <cmath>
#include <chrono>
#include <sstream>
#include <thread>

#include "common/auth.h"

namespace sluice {
namespace {

std::string EscapeLabel(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  std::ostringstream out;
  out.precision(17);
  out << value;
  return out.str();
}

}  // namespace

void MetricsWriter::Add(const std::string& name, const char* type, const std::string& help,
                        const MetricLabels& labels, double value) {
  Family& family = families_[name];
  family.type = type;
  family.help = help;
  family.samples.emplace_back(labels, value);
}

void MetricsWriter::Counter(const std::string& name, const std::string& help,
                            const MetricLabels& labels, double value) {
  Add(name, "counter", help, labels, value);
}

void MetricsWriter::Gauge(const std::string& name, const std::string& help,
                          const MetricLabels& labels, double value) {
  Add(name, "gauge", help, labels, value);
}

std::string MetricsWriter::Render() const {
  std::string out;
  for (const auto& [name, family] : families_) {
    out += "# HELP " + name + " " + family.help + "\n";
    out += "# TYPE " + name + " " + family.type + "\n";
    for (const auto& [labels, value] : family.samples) {
      out += name;
      if (!labels.empty()) {
        out += "{";
        for (size_t i = 0; i < labels.size(); ++i) {
          if (i > 0) out += ",";
          out += labels[i].first + "=\"" + EscapeLabel(labels[i].second) + "\"";
        }
        out += "}";
      }
      out += " " + FormatValue(value) + "\n";
    }
  }
  return out;
}

int MetricsRegistry::AddCollector(Collector collector) {
  std::lock_guard<std::mutex> lock(mutex_);
  int id = next_id_++;
  collectors_[id] = std::move(collector);
  return id;
}

void MetricsRegistry::RemoveCollector(int id) {
  std::lock_guard<std::mutex> lock(mutex_);
  collectors_.erase(id);
}

std::string MetricsRegistry::Render() const {
  MetricsWriter writer;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [id, collector] : collectors_) collector(writer);
  return writer.Render();
}

MetricsHttpServer::MetricsHttpServer(const MetricsRegistry& registry) : registry_(registry) {}

MetricsHttpServer::~MetricsHttpServer() { Stop(); }

void MetricsHttpServer::AddProbe(const std::string& path, Probe check) {
  probes_.emplace_back(path, std::move(check));
}

Status MetricsHttpServer::Start(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("metrics address '" + listen + "' is not host:port");
  }
  std::string host = listen.substr(0, colon);
  int port = std::atoi(listen.c_str() + colon + 1);
  server_ = std::make_unique<httplib::Server>();
  server_->Get("/metrics", [this](const httplib::Request& request, httplib::Response& response) {
    if (!token_.empty() &&
        !TokenMatches(BearerToken(request.get_header_value("Authorization")), token_)) {
      response.status = 401;
      response.set_header("WWW-Authenticate", "Bearer");
      response.set_content("/metrics needs the cluster token: Authorization: Bearer <token>\n",
                           "text/plain");
      return;
    }
    response.set_content(registry_.Render(), "text/plain; version=0.0.4");
  });
  for (const auto& [path, check] : probes_) {
    server_->Get(path, [check = check](const httplib::Request&, httplib::Response& response) {
      Status status = check();
      response.status = status.ok() ? 200 : 503;
      response.set_content(status.ok() ? "ok\n" : status.message() + "\n", "text/plain");
    });
  }
  int bound =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return Status::External("cannot serve metrics on " + listen + " (address in use or not valid)");
  }
  address_ = host + ":" + std::to_string(bound);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing before the listening loop runs, so a Stop() right after
  // this start would leave the thread listening and its join waiting for ever.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void MetricsHttpServer::Stop() {
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice
