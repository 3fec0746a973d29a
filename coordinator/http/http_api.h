#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "coordinator/coordinator_node.h"
#include "coordinator/http/output_buffers.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sluice::coordinator::http {

struct HttpOptions {
  std::string listen = "127.0.0.1:8080";  // port 0 picks a free one
  // Bearer token every route but /healthz and the page's static files needs; "" none.
  std::string auth_token;
  // Folder of the built playground (index.html, assets/); "" serves no page.
  std::string playground_dir;
  size_t max_body_bytes = 16 << 20;
  size_t max_event_streams = 16;
  uint32_t heartbeat_ms = 5000;  // an SSE comment when nothing else was sent this long
};

// One route of the API: method, path template ("/api/v1/jobs/{id}"), whether it needs the token.
struct RouteInfo {
  std::string method;
  std::string path;
};

// The coordinator's HTTP port: the JSON API under /api/v1 (jobs, workers, events, openapi.json),
// /healthz, /readyz, /metrics and the playground page at /. Created by whoever wires the
// coordinator binary, after the node; Start() binds and serves on its own threads (one per
// connection, from a pool; an event stream holds its thread until it ends); Stop() (or the
// destructor) ends the streams and joins. Must be stopped before the node and the metrics
// registry it reads die. Install() must be called before the node starts, so collect and stdout
// records reach the output buffers.
class HttpApi {
 public:
  HttpApi(HttpOptions options, CoordinatorNode& node, MetricsRegistry* metrics);
  ~HttpApi();

  // Makes the node hand the records its sinks push to this API's output buffers.
  void Install();
  // Binds options.listen (or `listen` when given) and serves.
  Status Start(const std::string& listen = "");
  void Stop();
  const std::string& address() const { return address_; }

  // Every route the API serves, in the order of openapi.json.
  static std::vector<RouteInfo> Routes();

 private:
  using Handler = std::function<void(const httplib::Request&, httplib::Response&,
                                     const std::vector<std::string>& params)>;
  struct Route {
    RouteInfo info;
    std::regex pattern;
    bool literal = true;
    bool public_route = false;  // no token needed
    Handler handler;
  };
  void AddRoutes();
  void Add(const std::string& method, const std::string& path, Handler handler);
  void Dispatch(const httplib::Request& request, httplib::Response& response);
  bool Authorized(const httplib::Request& request) const;
  bool ServeStatic(const httplib::Request& request, httplib::Response& response) const;

  // api_routes.cc
  void ListJobs(httplib::Response& response) const;
  void SubmitJob(const httplib::Request& request, httplib::Response& response, bool deploy);
  void GetJob(const std::string& id, httplib::Response& response) const;
  void GetPlan(const std::string& id, httplib::Response& response) const;
  void CancelJob(const std::string& id, httplib::Response& response);
  void TriggerSavepoint(const std::string& id, httplib::Response& response);
  void Ready(httplib::Response& response) const;
  // event_stream.cc
  void StreamEvents(const httplib::Request& request, const std::string& id,
                    httplib::Response& response);

  HttpOptions options_;
  CoordinatorNode& node_;
  MetricsRegistry* metrics_;
  int streams_collector_ = 0;  // in metrics_, while this API lives
  OutputBuffers outputs_;
  std::vector<Route> routes_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string address_;
  std::string host_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> streams_{0};
};

// Sends {"error": {...}} with `status`.
void SendError(httplib::Response& response, int status, const std::string& code,
               const std::string& message);
void SendJson(httplib::Response& response, int status, const std::string& body);
// The HTTP status for a failed call into the node.
int HttpStatusOf(const Status& status);

// The OpenAPI 3 document of Routes() (openapi.cc).
std::string OpenApiDocument();

}  // namespace sluice::coordinator::http
