#include "coordinator/job_validator.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "coordinator/job_defaults.h"
#include "coordinator/operator_kinds.h"

namespace sluice::coordinator {
namespace {

using nlohmann::json;


std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

// How a problem names an operator: `operator "parse" (op2)`, or by id when it has no name.
std::string Label(const proto::Operator& op, int index) {
  if (!op.name().empty() && !op.id().empty())
    return "operator " + Quote(op.name()) + " (" + op.id() + ")";
  if (!op.name().empty()) return "operator " + Quote(op.name());
  if (!op.id().empty()) return "operator " + Quote(op.id());
  return "operator #" + std::to_string(index);
}

std::string JsonTypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unsupported value";
  }
}

bool IsIntegral(const json& value) {
  if (value.is_number_integer()) return true;
  if (!value.is_number_float()) return false;
  double d = value.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool FieldValueOk(const ConfigField& field, const json& value) {
  switch (field.type) {
    case ConfigFieldType::kAbsolutePath:
      return value.is_string() && !value.get<std::string>().empty() &&
             value.get<std::string>().front() == '/';
    case ConfigFieldType::kEnum:
      return value.is_string() && std::find(field.allowed.begin(), field.allowed.end(),
                                            value.get<std::string>()) != field.allowed.end();
    case ConfigFieldType::kNonNegativeInteger:
      return IsIntegral(value) && value.get<double>() >= 0;
    case ConfigFieldType::kPositiveNumber:
      return value.is_number() && value.get<double>() > 0;
    case ConfigFieldType::kNumber:
      return value.is_number();
    case ConfigFieldType::kBoolean:
      return value.is_boolean();
    case ConfigFieldType::kObject:
      return value.is_object();
  }
  return false;
}

// Collects problems while one spec is validated; lives for one ValidateJob call.
class Validator {
 public:
  Validator(const proto::JobSpec& spec, const FunctionChecker& check)
      : spec_(spec), check_(check) {}

  std::vector<proto::ValidationProblem> Run() {
    CheckJob();
    for (int i = 0; i < spec_.operators_size(); ++i) CheckOperator(i);
    CheckEdges();
    CheckShape();
    CheckCycles();
    return std::move(problems_);
  }

 private:
  void JobProblem(std::string message) {
    proto::ValidationProblem& problem = *problems_.emplace(problems_.end());
    problem.set_message(std::move(message));
  }

  // `message` is appended to the operator's label, so it starts with ":" or a verb.
  void OpProblem(int index, std::string_view message) {
    const proto::Operator& op = spec_.operators(index);
    proto::ValidationProblem& problem = *problems_.emplace(problems_.end());
    problem.set_operator_id(op.id());
    problem.set_operator_name(op.name().empty() ? op.id() : op.name());
    problem.set_message(Label(op, index) + std::string(message));
  }

  std::string Name(int index) const { return Label(spec_.operators(index), index); }
  // Just the quoted name (or id), for lists of operators inside one message.
  std::string Short(int index) const {
    const proto::Operator& op = spec_.operators(index);
    return Quote(op.name().empty() ? op.id() : op.name());
  }

  void CheckJob();
  void CheckOperator(int index);
  void CheckConfig(int index, const OperatorKind& kind, const json& config);
  void CheckFunctions(int index, const OperatorKind* kind);
  void CheckEdges();
  // Files an edge's problem under `preferred`, else `fallback`, else the job (-1: none).
  void EdgeProblem(int preferred, int fallback, std::string_view message);
  void CheckShape();
  void CheckCycles();

  const proto::JobSpec& spec_;
  const FunctionChecker& check_;
  std::vector<proto::ValidationProblem> problems_;
  std::unordered_map<std::string, int> index_by_id_;  // first operator with each id
  // Edges whose two ends exist and differ, as (from, to, edge index); the graph checks use them.
  std::vector<std::tuple<int, int, int>> edges_;
};

void Validator::CheckJob() {
  if (spec_.name().empty()) JobProblem("the job has no name");
  if (spec_.operators_size() == 0) JobProblem("the job has no operators");
  if (spec_.max_parallelism() > kMaxMaxParallelism) {
    JobProblem("max_parallelism " + std::to_string(spec_.max_parallelism()) +
               " is above the limit of " + std::to_string(kMaxMaxParallelism));
  }
  const uint32_t max = EffectiveMaxParallelism(spec_);
  if (EffectiveJobParallelism(spec_) > max) {
    JobProblem("the job's parallelism " + std::to_string(spec_.parallelism()) +
               " exceeds its max_parallelism " + std::to_string(max));
  }
  if (!spec_.params_json().empty()) {
    json params = json::parse(spec_.params_json(), nullptr, /*allow_exceptions=*/false);
    if (!params.is_object()) JobProblem("params_json must be a JSON object");
  }
}

void Validator::CheckOperator(int index) {
  const proto::Operator& op = spec_.operators(index);
  if (op.id().empty()) {
    OpProblem(index, " has no id");
  } else if (auto [it, fresh] = index_by_id_.emplace(op.id(), index); !fresh) {
    OpProblem(index, " reuses id " + Quote(op.id()) + ", already taken by " + Name(it->second));
  }
  // An operator without its own parallelism (0) takes the job's, which CheckJob checks: only
  // one that sets its own can exceed the limit by itself.
  const uint32_t max = EffectiveMaxParallelism(spec_);
  if (op.parallelism() != 0 && op.parallelism() > max) {
    OpProblem(index, ": parallelism " + std::to_string(op.parallelism()) +
                         " exceeds the job's max_parallelism " + std::to_string(max));
  }

  const OperatorKind* kind = FindOperatorKind(op.kind());
  if (kind == nullptr) {
    OpProblem(index,
              " has unknown kind " + Quote(op.kind()) + "; known kinds: " + KnownKindNames());
  }
  json config = json::object();
  std::string parse_error;
  if (!op.config_json().empty()) {
    try {
      config = json::parse(op.config_json());
    } catch (const json::exception& error) {  // parse_error, and out_of_range for 1e999
      parse_error = error.what();
    }
  }
  if (!parse_error.empty()) {
    OpProblem(index, ": config_json is not valid JSON (" + parse_error + "): " + op.config_json());
  } else if (!config.is_object()) {
    OpProblem(index, ": config_json must be a JSON object, got " + JsonTypeName(config));
  } else if (kind != nullptr && kind->check_config != nullptr) {
    std::vector<std::string> problems;
    kind->check_config(config, &problems);
    for (const std::string& problem : problems) OpProblem(index, problem);
  } else if (kind != nullptr) {
    CheckConfig(index, *kind, config);
  }
  // An exactly-once sink commits what it wrote when a checkpoint completes.
  if (config.is_object() && config.value("guarantee", json()) == "exactly-once" &&
      spec_.checkpoint_interval_ms() == 0) {
    OpProblem(index, ": guarantee \"exactly-once\" commits at checkpoints; give the job a "
                     "checkpointInterval");
  }
  CheckFunctions(index, kind);
}

void Validator::CheckConfig(int index, const OperatorKind& kind, const json& config) {
  std::string accepted;
  for (const ConfigField& field : kind.config) {
    accepted += (accepted.empty() ? "" : ", ") + field.name;
  }
  for (const auto& [key, value] : config.items()) {
    auto field = std::find_if(kind.config.begin(), kind.config.end(),
                              [&](const ConfigField& f) { return f.name == key; });
    if (field == kind.config.end()) {
      OpProblem(index,
                ": unknown config field " + Quote(key) + " for kind " + Quote(kind.name) +
                    (accepted.empty() ? " (it takes no config)" : " (accepted: " + accepted + ")"));
    } else if (!FieldValueOk(*field, value)) {
      OpProblem(index, ": config field " + Quote(key) + " must be " + DescribeFieldType(*field) +
                           ", got " + value.dump());
    }
  }
  bool complete = true;
  for (const ConfigField& field : kind.config) {
    if (field.required && !config.contains(field.name)) {
      complete = false;
      OpProblem(index, ": config field " + Quote(field.name) + " is required for kind " +
                           Quote(kind.name) + " (" + DescribeFieldType(field) + ")");
    }
  }
  if (kind.check != nullptr && complete) {
    const proto::Operator& op = spec_.operators(index);
    std::map<std::string, std::string> functions(op.functions().begin(), op.functions().end());
    for (const std::string& problem : kind.check(config, functions)) OpProblem(index, problem);
  }
}

void Validator::CheckFunctions(int index, const OperatorKind* kind) {
  const proto::Operator& op = spec_.operators(index);
  // Sorted, so problems come out in the same order on every run.
  std::map<std::string, std::string> functions(op.functions().begin(), op.functions().end());
  if (kind != nullptr) {
    std::string takes;
    for (const FunctionSlot& slot : kind->functions) {
      takes += (takes.empty() ? "" : ", ") + slot.role;
      if (slot.required && functions.find(slot.role) == functions.end()) {
        OpProblem(index, ": kind " + Quote(kind->name) + " needs a function " + Quote(slot.role));
      }
    }
    for (auto it = functions.begin(); it != functions.end();) {
      auto slot = std::find_if(kind->functions.begin(), kind->functions.end(),
                               [&](const FunctionSlot& s) { return s.role == it->first; });
      if (slot != kind->functions.end()) {
        ++it;
        continue;
      }
      OpProblem(index, ": unexpected function " + Quote(it->first) + "; kind " + Quote(kind->name) +
                           (takes.empty() ? " takes no functions" : " takes: " + takes));
      it = functions.erase(it);
    }
  }
  for (const auto& [role, source] : functions) {
    if (source.empty()) {
      OpProblem(index, ", function " + Quote(role) + ": the function's source is empty");
      continue;
    }
    Status status = check_(source);
    if (!status.ok()) OpProblem(index, ", function " + Quote(role) + ": " + status.message());
  }
}

void Validator::EdgeProblem(int preferred, int fallback, std::string_view message) {
  if (preferred >= 0) return OpProblem(preferred, message);
  if (fallback >= 0) return OpProblem(fallback, message);
  JobProblem(std::string(message.substr(2)));  // drop the ": " meant to follow a label
}

void Validator::CheckEdges() {
  auto find = [&](const std::string& id) {
    auto it = index_by_id_.find(id);
    return it == index_by_id_.end() ? -1 : it->second;
  };
  for (int i = 0; i < spec_.edges_size(); ++i) {
    const proto::Edge& edge = spec_.edges(i);
    const std::string desc =
        "edge #" + std::to_string(i) + " (" + edge.from() + " -> " + edge.to() + ")";
    const int from = find(edge.from());
    const int to = find(edge.to());
    if (from < 0) {
      EdgeProblem(to, -1,
                  ": " + desc +
                      (edge.from().empty() ? " has no \"from\" operator"
                                           : " comes from operator " + Quote(edge.from()) +
                                                 ", which does not exist"));
    }
    if (to < 0) {
      EdgeProblem(from, -1,
                  ": " + desc +
                      (edge.to().empty()
                           ? " has no \"to\" operator"
                           : " goes to operator " + Quote(edge.to()) + ", which does not exist"));
    }
    if (edge.partitioning() == proto::HASH) {
      if (edge.key_fn().empty()) {
        EdgeProblem(to, from, ": " + desc + " is partitioned by key but has no key selector");
      } else {
        Status status = check_(edge.key_fn());
        if (!status.ok()) EdgeProblem(to, from, ": " + desc + ", key selector: " + status.message());
      }
    } else if (!edge.key_fn().empty()) {
      EdgeProblem(to, from, ": " + desc + " has a key selector but is not partitioned by key");
    }
    if (edge.partitioned() && edge.partitioning() != proto::HASH) {
      EdgeProblem(to, from, ": " + desc +
                                " is marked already partitioned (partitioned: true) but is not "
                                "partitioned by key");
    } else if (edge.partitioned() && from >= 0 && to >= 0) {
      // An already partitioned stream stays on its subtasks: subtask i's records are those of
      // the key groups subtask i owns downstream, which needs the same number of subtasks.
      const auto parallelism = [&](int op) { return EffectiveParallelism(spec_, spec_.operators(op)); };
      if (parallelism(from) != parallelism(to)) {
        EdgeProblem(to, from, ": " + desc +
                                  " is marked already partitioned (keyBy(..., { partitioned: "
                                  "true })), but its operators' parallelisms differ (" +
                                  std::to_string(parallelism(from)) + " and " +
                                  std::to_string(parallelism(to)) +
                                  "): an already partitioned stream keeps its parallelism");
      }
    }
    const OperatorKind* to_kind = to < 0 ? nullptr : FindOperatorKind(spec_.operators(to).kind());
    const uint32_t to_inputs = to_kind == nullptr ? 1 : to_kind->inputs;
    if (edge.input() >= to_inputs) {
      EdgeProblem(to, from,
                  ": " + desc + " feeds input " + std::to_string(edge.input()) + ", but " +
                      (to_inputs == 1 ? "the operator has a single input (0)"
                                      : "the operator has inputs 0 and 1"));
    }
    if (!edge.from_output().empty()) {
      const proto::Operator* source = from < 0 ? nullptr : &spec_.operators(from);
      if (edge.from_output() != "late") {
        EdgeProblem(from, to, ": " + desc + " leaves from output " + Quote(edge.from_output()) +
                                  "; the only side output is \"late\" (a window's late records)");
      } else if (source != nullptr &&
                 (!HasLateOutput(source->kind()) ||
                  source->config_json().find("\"lateOutput\":true") == std::string::npos)) {
        EdgeProblem(from, to, ": " + desc +
                                  " takes late records from an operator that is not a window "
                                  "with lateOutput: true");
      }
    }
    if (from < 0 || to < 0) continue;
    if (from == to) {
      OpProblem(from, ": " + desc + " connects the operator to itself");
      continue;
    }
    edges_.emplace_back(from, to, i);
  }
}

void Validator::CheckShape() {
  const int n = spec_.operators_size();
  std::vector<std::vector<int>> inputs(n), outputs(n);
  std::vector<std::vector<int>> unkeyed_inputs(n);
  for (const auto& [from, to, edge] : edges_) {
    outputs[from].push_back(to);
    inputs[to].push_back(from);
    if (spec_.edges(edge).partitioning() != proto::HASH) unkeyed_inputs[to].push_back(from);
  }
  auto names = [&](const std::vector<int>& ops) {
    std::string text;
    for (int op : ops) text += (text.empty() ? "" : ", ") + Short(op);
    return text;
  };
  int sources = 0;
  int sinks = 0;
  for (int i = 0; i < n; ++i) {
    const proto::Operator& op = spec_.operators(i);
    auto first = index_by_id_.find(op.id());
    if (first == index_by_id_.end() || first->second != i) continue;  // edges cannot reach it
    const size_t in = inputs[i].size();
    const size_t out = outputs[i].size();
    const OperatorKind* kind = FindOperatorKind(op.kind());
    if (kind == nullptr) continue;
    if (kind->keyed && !unkeyed_inputs[i].empty()) {
      OpProblem(i, " keeps state per key, so its input must be partitioned by key (keyBy), "
                   "but the input from " + names(unkeyed_inputs[i]) + " is not");
    }
    const bool is_source = kind->role == OperatorRole::kSource;
    const bool is_sink = kind->role == OperatorRole::kSink;
    sources += is_source;
    sinks += is_sink;
    if (is_source && in > 0) {
      OpProblem(i,
                " is a source and cannot have inputs (it has input from " + names(inputs[i]) + ")");
    }
    if (is_sink && out > 0) {
      OpProblem(i, " is a sink and cannot have outputs (it feeds " + names(outputs[i]) + ")");
    }
    if (kind->inputs == 2 && in > 0) {
      std::vector<bool> fed(2, false);
      for (const auto& [from, to, edge] : edges_) {
        if (to == i && spec_.edges(edge).input() < 2) fed[spec_.edges(edge).input()] = true;
      }
      if (!fed[0] || !fed[1]) {
        OpProblem(i, " joins two inputs but input " + std::string(fed[0] ? "1" : "0") +
                         " has no edge");
      }
    }
    if (!is_source && in == 0) {
      OpProblem(i, " has no input; connect it downstream of a source");
    }
    if (!is_sink && out == 0) {
      OpProblem(i, " has no output: its records go nowhere; add a sink");
    }
  }
  if (n > 0 && sources == 0) JobProblem("the job has no source operator");
  if (n > 0 && sinks == 0) JobProblem("the job has no sink operator");
}

void Validator::CheckCycles() {
  const int n = spec_.operators_size();
  std::vector<std::vector<int>> outputs(n);
  for (const auto& [from, to, edge] : edges_) outputs[from].push_back(to);
  enum class Mark { kNew, kOnPath, kDone };
  std::vector<Mark> marks(n, Mark::kNew);
  // Depth first with an explicit stack (a spec may chain many thousands of operators): each
  // frame is an operator on the current path and the index of its next output to visit.
  std::vector<std::pair<int, size_t>> path;
  for (int root = 0; root < n; ++root) {
    if (marks[root] != Mark::kNew) continue;
    marks[root] = Mark::kOnPath;
    path.emplace_back(root, 0);
    while (!path.empty()) {
      auto& [op, next_output] = path.back();
      if (next_output == outputs[op].size()) {
        marks[op] = Mark::kDone;
        path.pop_back();
        continue;
      }
      const int next = outputs[op][next_output++];
      if (marks[next] == Mark::kNew) {
        marks[next] = Mark::kOnPath;
        path.emplace_back(next, 0);
      } else if (marks[next] == Mark::kOnPath) {
        auto start = std::find_if(path.begin(), path.end(),
                                  [&](const std::pair<int, size_t>& f) { return f.first == next; });
        std::string cycle;
        for (auto it = start; it != path.end(); ++it) cycle += Short(it->first) + " -> ";
        OpProblem(next, " is on a cycle: " + cycle + Short(next) +
                            "; a job's graph must not loop back on itself");
      }
    }
  }
}

}  // namespace

std::vector<proto::ValidationProblem> ValidateJob(const proto::JobSpec& spec,
                                                  const FunctionChecker& check) {
  return Validator(spec, check).Run();
}

}  // namespace sluice::coordinator
