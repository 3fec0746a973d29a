#include "coordinator/http/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <chrono>
#include <sstream>
#include <thread>

#include "common/auth.h"
#include "coordinator/http/api_json.h"

namespace sluice::coordinator::http {
namespace {

// Same origin only: no CORS headers are ever sent, and the page may load nothing from elsewhere.
// 'wasm-unsafe-eval' lets the page compile esbuild's WebAssembly; blob: lets it import the job
// module it just bundled (the user's own code, in the user's own page).
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

const char* ContentType(const std::string& path) {
  auto ends = [&](const char* suffix) {
    std::string s(suffix);
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".wasm")) return "application/wasm";
  if (ends(".json") || ends(".map")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

bool IsLoopbackHost(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "[::1]";
}

// The Host header without its port.
std::string HostName(const std::string& header) {
  if (!header.empty() && header[0] == '[') return header.substr(0, header.find(']') + 1);
  return header.substr(0, header.find(':'));
}

}  // namespace

void SendJson(httplib::Response& response, int status, const std::string& body) {
  response.status = status;
  response.set_content(body, "application/json");
}

void SendError(httplib::Response& response, int status, const std::string& code,
               const std::string& message) {
  SendJson(response, status, ErrorJson(code, message).dump());
}

int HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return 503;
    default:
      return 500;
  }
}

HttpApi::HttpApi(HttpOptions options, CoordinatorNode& node, MetricsRegistry* metrics)
    : options_(std::move(options)), node_(node), metrics_(metrics) {
  AddRoutes();
  if (metrics_ != nullptr) {
    streams_collector_ = metrics_->AddCollector([this](MetricsWriter& writer) {
      writer.Gauge("sluice_http_event_streams",
                   "Job event streams open on the HTTP API now; past " +
                       std::to_string(options_.max_event_streams) + " more get 429.",
                   {},
                   static_cast<double>(streams_.load()));
    });
  }
}

HttpApi::~HttpApi() {
  Stop();
  if (metrics_ != nullptr) metrics_->RemoveCollector(streams_collector_);
}

void HttpApi::Install() {
  node_.SetOutputListener(
      [this](const JobId& job, const std::vector<std::string>& records, uint64_t dropped) {
        outputs_.Append(job, records, dropped);
      });
}

std::vector<RouteInfo> HttpApi::Routes() {
  return {{"GET", "/api/v1/jobs"},
          {"POST", "/api/v1/jobs"},
          {"POST", "/api/v1/jobs/validate"},
          {"GET", "/api/v1/jobs/{id}"},
          {"GET", "/api/v1/jobs/{id}/plan"},
          {"POST", "/api/v1/jobs/{id}/cancel"},
          {"POST", "/api/v1/jobs/{id}/savepoints"},
          {"GET", "/api/v1/jobs/{id}/events"},
          {"GET", "/api/v1/workers"},
          {"GET", "/api/v1/openapi.json"},
          {"GET", "/healthz"},
          {"GET", "/readyz"},
          {"GET", "/metrics"}};
}

void HttpApi::Add(const std::string& method, const std::string& path, Handler handler) {
  Route route;
  route.info = {method, path};
  std::string regex;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      regex += "([^/]+)";
      i = path.find('}', i);
      route.literal = false;
    } else if (path[i] == '.') {
      regex += "\\.";
    } else {
      regex += path[i];
    }
  }
  route.pattern = std::regex(regex);
  // Probes stay open: an orchestrator's probe carries no token, and they say only ok or why not.
  route.public_route = path == "/healthz" || path == "/readyz";
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void HttpApi::AddRoutes() {
  using Req = httplib::Request;
  using Res = httplib::Response;
  using Params = std::vector<std::string>;
  Add("GET", "/api/v1/jobs", [this](const Req&, Res& res, const Params&) { ListJobs(res); });
  Add("POST", "/api/v1/jobs",
      [this](const Req& req, Res& res, const Params&) { SubmitJob(req, res, true); });
  Add("POST", "/api/v1/jobs/validate",
      [this](const Req& req, Res& res, const Params&) { SubmitJob(req, res, false); });
  Add("GET", "/api/v1/jobs/{id}", [this](const Req&, Res& res, const Params& p) { GetJob(p[0], res); });
  Add("GET", "/api/v1/jobs/{id}/plan",
      [this](const Req&, Res& res, const Params& p) { GetPlan(p[0], res); });
  Add("POST", "/api/v1/jobs/{id}/cancel",
      [this](const Req&, Res& res, const Params& p) { CancelJob(p[0], res); });
  Add("POST", "/api/v1/jobs/{id}/savepoints",
      [this](const Req&, Res& res, const Params& p) { TriggerSavepoint(p[0], res); });
  Add("GET", "/api/v1/jobs/{id}/events",
      [this](const Req& req, Res& res, const Params& p) { StreamEvents(req, p[0], res); });
  Add("GET", "/api/v1/workers", [this](const Req&, Res& res, const Params&) {
    SendJson(res, 200, WorkersJson(node_.ListWorkers()).dump());
  });
  Add("GET", "/api/v1/openapi.json",
      [](const Req&, Res& res, const Params&) { SendJson(res, 200, OpenApiDocument()); });
  Add("GET", "/healthz", [](const Req&, Res& res, const Params&) {
    SendJson(res, 200, R"({"status":"ok"})");
  });
  Add("GET", "/readyz", [this](const Req&, Res& res, const Params&) { Ready(res); });
  Add("GET", "/metrics", [this](const Req&, Res& res, const Params&) {
    res.set_content(metrics_ != nullptr ? metrics_->Render() : "", "text/plain; version=0.0.4");
  });
}

bool HttpApi::Authorized(const httplib::Request& request) const {
  if (options_.auth_token.empty()) return true;
  const std::string header = request.get_header_value("Authorization");
  std::string_view presented = BearerToken(header);
  return !presented.empty() && TokenMatches(presented, options_.auth_token);
}

void HttpApi::Dispatch(const httplib::Request& request, httplib::Response& response) {
  response.set_header("Content-Security-Policy", kContentSecurityPolicy);
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
  // A page on another site must not reach a loopback coordinator by rebinding its own name to
  // 127.0.0.1 (DNS rebinding): on loopback, only loopback names are served.
  if (IsLoopbackHost(host_) && !IsLoopbackHost(HostName(request.get_header_value("Host")))) {
    SendError(response, 403, "forbidden_host",
              "this coordinator serves loopback names only, not '" +
                  request.get_header_value("Host") + "'");
    return;
  }
  // Literal routes ("/api/v1/jobs/validate") win over templates ("/api/v1/jobs/{id}").
  std::vector<const Route*> matches;
  std::vector<std::string> params;
  std::smatch match;
  for (bool literal : {true, false}) {
    for (const auto& route : routes_) {
      if (route.literal != literal || !std::regex_match(request.path, match, route.pattern)) continue;
      matches.push_back(&route);
      if (route.info.method == request.method) {
        params.assign(match.begin() + 1, match.end());
      }
    }
    if (!matches.empty()) break;
  }
  if (matches.empty()) {
    if (request.method == "GET" && request.path.rfind("/api/", 0) != 0 &&
        ServeStatic(request, response)) {
      return;
    }
    SendError(response, 404, "not_found", "no such endpoint: " + request.path);
    return;
  }
  const Route* route = nullptr;
  std::string allow;
  for (const Route* candidate : matches) {
    if (candidate->info.method == request.method) route = candidate;
    allow += (allow.empty() ? "" : ", ") + candidate->info.method;
  }
  if (route == nullptr) {
    response.set_header("Allow", allow);
    SendError(response, 405, "method_not_allowed",
              request.method + " is not allowed on " + request.path + " (allowed: " + allow + ")");
    return;
  }
  if (!route->public_route && !Authorized(request)) {
    response.set_header("WWW-Authenticate", "Bearer");
    SendError(response, 401, "unauthorized",
              "this coordinator needs 'Authorization: Bearer <token>' (the cluster's token)");
    return;
  }
  // Cross-site pages can send text/plain or form posts without asking; application/json needs
  // a CORS preflight this server never grants.
  if (request.method == "POST" &&
      request.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
    SendError(response, 415, "unsupported_media_type",
              "POST " + request.path + " needs 'Content-Type: application/json'");
    return;
  }
  route->handler(request, response, params);
}

bool HttpApi::ServeStatic(const httplib::Request& request, httplib::Response& response) const {
  if (options_.playground_dir.empty()) return false;
  std::string relative = request.path == "/" ? "index.html" : request.path.substr(1);
  if (relative.find("..") != std::string::npos || relative.find("//") != std::string::npos) {
    return false;
  }
  std::filesystem::path file = std::filesystem::path(options_.playground_dir) / relative;
  std::error_code error;
  if (!std::filesystem::is_regular_file(file, error)) return false;
  // The build keeps a gzipped copy of the big assets (esbuild's WebAssembly is 13 MB, 3 gzipped).
  std::filesystem::path gzipped = file;
  gzipped += ".gz";
  bool gzip = request.get_header_value("Accept-Encoding").find("gzip") != std::string::npos &&
              std::filesystem::is_regular_file(gzipped, error);
  std::ifstream in(gzip ? gzipped : file, std::ios::binary);
  if (!in) return false;
  std::ostringstream content;
  content << in.rdbuf();
  if (gzip) response.set_header("Content-Encoding", "gzip");
  response.set_header("Vary", "Accept-Encoding");
  response.set_content(content.str(), ContentType(relative));
  // Assets have content hashes in their names; the page itself is always revalidated.
  response.set_header("Cache-Control", relative == "index.html" ? "no-cache" : "max-age=3600");
  return true;
}

Status HttpApi::Start(const std::string& listen) {
  if (!listen.empty()) options_.listen = listen;
  if (server_ != nullptr) server_.reset();
  size_t colon = options_.listen.rfind(':');
  if (colon == std::string::npos) {
    return Status::InvalidArgument("HTTP address '" + options_.listen + "' is not host:port");
  }
  host_ = options_.listen.substr(0, colon);
  int port = std::atoi(options_.listen.c_str() + colon + 1);
  server_ = std::make_unique<httplib::Server>();
  size_t threads = options_.max_event_streams + 8;
  server_->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server_->set_payload_max_length(options_.max_body_bytes);
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) { Dispatch(req, res); };
  for (const char* pattern : {".*"}) {
    server_->Get(pattern, dispatch);
    server_->Post(pattern, dispatch);
    server_->Put(pattern, dispatch);
    server_->Delete(pattern, dispatch);
    server_->Patch(pattern, dispatch);
    server_->Options(pattern, dispatch);
  }
  // httplib answers some failures itself (a body over the limit, a malformed request) with an
  // empty body: give them the API's error shape.
  server_->set_error_handler([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    res.set_header("Content-Security-Policy", kContentSecurityPolicy);
    if (res.status == 413) {
      SendError(res, 413, "payload_too_large",
                "request bodies are limited to " + std::to_string(options_.max_body_bytes) +
                    " bytes");
    } else {
      SendError(res, res.status, "http_error", "the request could not be served");
    }
  });
  int bound =
      port == 0 ? server_->bind_to_any_port(host_) : (server_->bind_to_port(host_, port) ? port : -1);
  if (bound <= 0) {
    return Status::External("cannot serve HTTP on " + options_.listen +
                            " (address in use or not valid)");
  }
  address_ = host_ + ":" + std::to_string(bound);
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() does nothing before the listening loop runs, so a Stop() right after
  // this start would leave the thread listening and its join waiting for ever.
  while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return Status::Ok();
}

void HttpApi::Stop() {
  stopping_ = true;
  outputs_.WakeAll();
  if (server_ != nullptr) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::coordinator::http
