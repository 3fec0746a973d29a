#include "coordinator/limit_checks.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/operator_kinds.h"

namespace sluice::coordinator {
namespace {

std::string Label(const proto::Operator& op) {
  return "operator '" + (op.name().empty() ? op.id() : op.name()) + "' (" + op.id() + ")";
}

nlohmann::json Config(const proto::Operator& op) {
  auto config = nlohmann::json::parse(op.config_json().empty() ? "{}" : op.config_json(), nullptr,
                                      false);
  return config.is_object() ? config : nlohmann::json::object();
}

uint32_t Parallelism(const proto::JobSpec& spec, const proto::Operator& op) {
  if (op.parallelism() > 0) return op.parallelism();
  return spec.parallelism() > 0 ? spec.parallelism() : 1;
}

}  // namespace

std::vector<proto::ValidationProblem> CheckClusterLimits(const proto::JobSpec& spec,
                                                         const ClusterLimits& limits) {
  std::vector<proto::ValidationProblem> problems;
  auto job_problem = [&](std::string message) {
    problems.emplace_back().set_message("job '" + spec.name() + "': " + std::move(message));
  };
  const uint32_t heap = spec.heap_limit_mb();
  if (heap > 0 && heap < kMinHeapLimitMb) {
    job_problem("heapLimitMb " + std::to_string(heap) + " is below the " +
                std::to_string(kMinHeapLimitMb) + " MB a task's JS isolate needs");
  }
  if (heap > limits.max_heap_mb) {
    job_problem("heapLimitMb " + std::to_string(heap) + " is above the cluster's maximum of " +
                std::to_string(limits.max_heap_mb) + " MB (--max-heap-mb)");
  }
  if (spec.call_timeout_ms() > limits.max_call_timeout_ms) {
    job_problem("callTimeout " + std::to_string(spec.call_timeout_ms()) +
                " ms is above the cluster's maximum of " +
                std::to_string(limits.max_call_timeout_ms) + " ms (--max-call-timeout-ms)");
  }
  for (const proto::Operator& op : spec.operators()) {
    const OperatorKindTraits* traits = FindOperatorKindTraits(op.kind());
    if (traits == nullptr || !traits->reads_files) continue;
    const nlohmann::json config = Config(op);
    auto field = config.find("maxLineBytes");
    if (field == config.end() || !field->is_number() ||
        field->get<double>() <= static_cast<double>(limits.max_line_bytes)) {
      continue;
    }
    proto::ValidationProblem& problem = problems.emplace_back();
    problem.set_operator_id(op.id());
    problem.set_operator_name(op.name().empty() ? op.id() : op.name());
    problem.set_message(Label(op) + ": config field \"maxLineBytes\" " + field->dump() +
                        " is above the cluster's maximum line length of " +
                        std::to_string(limits.max_line_bytes) + " bytes (--max-line-bytes)");
  }
  return problems;
}

std::map<std::string, std::string> OutputFiles(const proto::JobSpec& spec) {
  std::map<std::string, std::string> files;
  for (const proto::Operator& op : spec.operators()) {
    const OperatorKindTraits* traits = FindOperatorKindTraits(op.kind());
    if (traits == nullptr || !traits->writes_files) continue;
    const nlohmann::json config = Config(op);
    auto path = config.find("path");
    if (path == config.end() || !path->is_string()) continue;
    const std::string base =
        std::filesystem::path(path->get<std::string>()).lexically_normal().string();
    const uint32_t parallelism = Parallelism(spec, op);
    if (parallelism <= 1) {
      files[base] = Label(op);
      continue;
    }
    for (uint32_t s = 0; s < parallelism; ++s) files[base + "." + std::to_string(s)] = Label(op);
  }
  return files;
}

std::string OutputConflict(const proto::JobSpec& spec, const proto::JobSpec& running,
                           const std::string& running_id) {
  const std::map<std::string, std::string> theirs = OutputFiles(running);
  for (const auto& [path, label] : OutputFiles(spec)) {
    auto other = theirs.find(path);
    if (other == theirs.end()) continue;
    return label + ": output file '" + path + "' is written by running job " + running_id +
           " '" + running.name() + "' (" + other->second +
           "); two jobs writing one file would interleave or lose records";
  }
  return "";
}

}  // namespace sluice::coordinator
