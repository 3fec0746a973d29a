// The OpenAPI 3 document of the HTTP API, built from HttpApi::Routes() so the two cannot drift
// apart (tests/e2e/http_api.test.mjs also probes every path and method it lists).
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>

#include "coordinator/http/http_api.h"

namespace sluice::coordinator::http {
namespace {

using nlohmann::json;

json Ref(const std::string& name) { return {{"$ref", "#/components/schemas/" + name}}; }

json JsonContent(const json& schema) { return {{"application/json", {{"schema", schema}}}}; }

json ErrorResponse(const std::string& description) {
  return {{"description", description}, {"content", JsonContent(Ref("Error"))}};
}

struct Operation {
  std::string summary;
  std::map<std::string, json> responses;
  json request_body = nullptr;
};

std::map<std::pair<std::string, std::string>, Operation> Operations() {
  json spec_body = {{"required", true}, {"content", JsonContent(Ref("JobSpec"))}};
  json empty_body = {{"required", false},
                     {"content", JsonContent({{"type", "object"}})}};
  json plain_text = {{"text/plain", {{"schema", {{"type", "string"}}}}}};
  return {
      {{"GET", "/api/v1/jobs"},
       {"Every job: id, name, state, started, duration",
        {{"200", {{"description", "the jobs, oldest first"},
                  {"content", JsonContent({{"type", "object"},
                                           {"properties", {{"jobs", {{"type", "array"}, {"items", Ref("JobSummary")}}}}}})}}}}}},
      {{"POST", "/api/v1/jobs"},
       {"Submit a JobSpec (the JSON job.toSpec() returns)",
        {{"201", {{"description", "accepted"},
                  {"content", JsonContent({{"type", "object"}, {"properties", {{"id", {{"type", "string"}}}}}})}}},
         {"400", ErrorResponse("not a JobSpec, or refused: error.problems names every problem")},
         {"413", ErrorResponse("the body is over the limit (16 MB)")}},
        spec_body}},
      {{"POST", "/api/v1/jobs/validate"},
       {"Check a JobSpec as a submission would, deploying nothing",
        {{"200", {{"description", "valid"}, {"content", JsonContent({{"type", "object"}})}}},
         {"400", ErrorResponse("not a JobSpec, or invalid: error.problems")},
         {"413", ErrorResponse("the body is over the limit")}},
        spec_body}},
      {{"GET", "/api/v1/jobs/{id}"},
       {"A job: state, reason, restarts, checkpoints, tasks",
        {{"200", {{"description", "the job"}, {"content", JsonContent(Ref("Job"))}}},
         {"404", ErrorResponse("no such job")}}}},
      {{"GET", "/api/v1/jobs/{id}/plan"},
       {"Operators as written, edges with their partitioning, chained task groups",
        {{"200", {{"description", "the plan"}, {"content", JsonContent(Ref("Plan"))}}},
         {"404", ErrorResponse("no such job")}}}},
      {{"POST", "/api/v1/jobs/{id}/cancel"},
       {"Cancel a job",
        {{"200", {{"description", "cancelling"}, {"content", JsonContent(Ref("Job"))}}},
         {"404", ErrorResponse("no such job")},
         {"409", ErrorResponse("the job has already ended")}},
        empty_body}},
      {{"POST", "/api/v1/jobs/{id}/savepoints"},
       {"Take a savepoint of a running job (into the cluster's checkpoint directory)",
        {{"201", {{"description", "taken"},
                  {"content", JsonContent({{"type", "object"},
                                           {"properties", {{"path", {{"type", "string"}}},
                                                           {"checkpointId", {{"type", "integer"}}}}}})}}},
         {"404", ErrorResponse("no such job")},
         {"409", ErrorResponse("the job is not running, or has no checkpoints")}},
        empty_body}},
      {{"GET", "/api/v1/jobs/{id}/events"},
       {"Server-Sent Events: status, metrics (each second), output, end; resumable with "
        "Last-Event-ID",
        {{"200", {{"description", "the event stream"},
                  {"content", {{"text/event-stream", {{"schema", {{"type", "string"}}}}}}}}},
         {"404", ErrorResponse("no such job")},
         {"429", ErrorResponse("too many event streams are open")}}}},
      {{"GET", "/api/v1/workers"},
       {"Workers: slots, tasks, last heartbeat",
        {{"200", {{"description", "the workers"}, {"content", JsonContent({{"type", "object"}})}}}}}},
      {{"GET", "/api/v1/openapi.json"},
       {"This document", {{"200", {{"description", "OpenAPI 3"}, {"content", JsonContent({{"type", "object"}})}}}}}},
      {{"GET", "/healthz"},
       {"Liveness (no token needed)", {{"200", {{"description", "alive"}, {"content", JsonContent({{"type", "object"}})}}}}}},
      {{"GET", "/readyz"},
       {"Readiness: a worker with slots has registered",
        {{"200", {{"description", "ready"}, {"content", JsonContent({{"type", "object"}})}}},
         {"503", {{"description", "not ready"}, {"content", JsonContent({{"type", "object"}})}}}}}},
      {{"GET", "/metrics"},
       {"Prometheus metrics", {{"200", {{"description", "text format 0.0.4"}, {"content", plain_text}}}}}},
  };
}

json Schemas() {
  json str = {{"type", "string"}};
  json integer = {{"type", "integer"}};
  return {
      {"Error",
       {{"type", "object"},
        {"required", {"error"}},
        {"properties",
         {{"error",
           {{"type", "object"},
            {"required", {"code", "message"}},
            {"properties",
             {{"code", str},
              {"message", str},
              {"problems", {{"type", "array"}, {"items", Ref("Problem")}}}}}}}}}}},
      {"Problem",
       {{"type", "object"},
        {"properties", {{"operatorId", str}, {"operatorName", str}, {"message", str}}}}},
      {"JobSpec", {{"type", "object"}, {"description", "the JobSpec JSON of proto/sluice/job.proto"}}},
      {"JobSummary",
       {{"type", "object"},
        {"properties",
         {{"id", str}, {"name", str}, {"state", str}, {"startedAtMs", integer}, {"durationMs", integer}}}}},
      {"Job",
       {{"type", "object"},
        {"properties",
         {{"id", str}, {"name", str}, {"state", str}, {"reason", str}, {"restarts", integer},
          {"checkpoints", {{"type", "object"}}},
          {"tasks", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}}},
      {"Plan",
       {{"type", "object"},
        {"properties",
         {{"operators", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"edges", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"groups", {{"type", "array"}, {"items", {{"type", "object"}}}}},
          {"exchanges", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}}},
  };
}

}  // namespace

std::string OpenApiDocument() {
  static const std::string document = [] {
    auto operations = Operations();
    json paths = json::object();
    for (const auto& route : HttpApi::Routes()) {
      const Operation& op = operations.at({route.method, route.path});
      json operation = {{"summary", op.summary}};
      json responses = json::object();
      for (const auto& [code, response] : op.responses) responses[code] = response;
      const bool probe = route.path == "/healthz" || route.path == "/readyz";
      if (!probe) {
        responses["401"] = ErrorResponse("a token is configured and was not presented");
      }
      operation["responses"] = responses;
      if (!op.request_body.is_null()) operation["requestBody"] = op.request_body;
      if (route.path.find("{id}") != std::string::npos) {
        operation["parameters"] = json::array(
            {{{"name", "id"}, {"in", "path"}, {"required", true}, {"schema", {{"type", "string"}}}}});
      }
      if (probe) operation["security"] = json::array();
      std::string method = route.method;
      for (auto& c : method) c = static_cast<char>(std::tolower(c));
      paths[route.path][method] = operation;
    }
    json document = {
        {"openapi", "3.0.3"},
        {"info", {{"title", "Sluice coordinator"}, {"version", "1"}}},
        {"paths", paths},
        {"components",
         {{"schemas", Schemas()},
          {"securitySchemes", {{"bearer", {{"type", "http"}, {"scheme", "bearer"}}}}}}},
        {"security", json::array({{{"bearer", json::array()}}})},
    };
    return document.dump(2);
  }();
  return document;
}

}  // namespace sluice::coordinator::http
