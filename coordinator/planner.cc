#include "coordinator/planner.h"

#include <queue>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/operator_kinds.h"
#include "coordinator/job_defaults.h"

namespace sluice::coordinator {
namespace {

// The operator graph by index, as the planner needs it.
struct Graph {
  std::vector<uint32_t> parallelism;
  std::vector<std::vector<int>> outputs;  // edge indexes leaving each operator
  std::vector<std::vector<int>> inputs;   // edge indexes entering each operator
  std::vector<std::pair<int, int>> ends;  // per edge: (from, to)
};

Result<Graph> BuildGraph(const proto::JobSpec& spec) {
  Graph graph;
  std::unordered_map<std::string, int> index_by_id;
  const int n = spec.operators_size();
  for (int i = 0; i < n; ++i) {
    if (!index_by_id.emplace(spec.operators(i).id(), i).second) {
      return Status::Internal("cannot plan: operator id \"" + spec.operators(i).id() +
                              "\" is used twice");
    }
    graph.parallelism.push_back(EffectiveParallelism(spec, spec.operators(i)));
  }
  graph.outputs.resize(n);
  graph.inputs.resize(n);
  for (int e = 0; e < spec.edges_size(); ++e) {
    const proto::Edge& edge = spec.edges(e);
    auto from = index_by_id.find(edge.from());
    auto to = index_by_id.find(edge.to());
    if (from == index_by_id.end() || to == index_by_id.end()) {
      return Status::Internal("cannot plan: edge " + edge.from() + " -> " + edge.to() +
                              " names an operator that does not exist");
    }
    graph.ends.emplace_back(from->second, to->second);
    graph.outputs[from->second].push_back(e);
    graph.inputs[to->second].push_back(e);
  }
  return graph;
}

bool Keyed(const proto::JobSpec& spec, int op) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(spec.operators(op).kind());
  return traits != nullptr && traits->keyed;
}

// An edge that can be a call inside one task. FORWARD edges of equal parallelism chain (as
// Flink). So does a HASH edge between two operators of parallelism 1: every key group goes to
// the one downstream subtask, so partitioning would only serialize the records; the keyed
// operator then keys them itself (its key selector is the edge's). A chain may hold several
// keyed operators: the task's state backend has two tables per keyed operator, its snapshot
// names them all, and restore takes each operator's state from whichever old tasks held it.
bool Chainable(const proto::JobSpec& spec, const Graph& graph, int edge) {
  const auto [from, to] = graph.ends[edge];
  // A side output (a window's late records) always crosses tasks: the chain's emitted records
  // are its main output.
  if (from == to || !spec.edges(edge).from_output().empty() ||
      graph.parallelism[from] != graph.parallelism[to] || graph.outputs[from].size() != 1 ||
      graph.inputs[to].size() != 1) {
    return false;
  }
  if (IsForward(spec.edges(edge))) return true;
  return spec.edges(edge).partitioning() == proto::HASH && graph.parallelism[to] == 1 &&
         Keyed(spec, to);
}

// Whether operator `op` or one upstream of it may report its output idle: an assigner's or a
// Kafka source's `idleTimeout` (any mention of it in a config, to be safe). Downstream of an
// idle input an operator's watermark may pass what the sending task last sent, and a combiner
// relies on it not doing so.
bool MayGoIdle(const proto::JobSpec& spec, const Graph& graph, int op) {
  std::vector<bool> seen(graph.parallelism.size(), false);
  std::vector<int> todo = {op};
  while (!todo.empty()) {
    const int at = todo.back();
    todo.pop_back();
    if (seen[at]) continue;
    seen[at] = true;
    if (spec.operators(at).config_json().find("idleTimeout") != std::string::npos) return true;
    for (int e : graph.inputs[at]) todo.push_back(graph.ends[e].first);
  }
  return false;
}

// Whether the exchange of spec edge `edge` gets a combiner (PlanJob): the window operator it
// feeds merges partial accumulators exactly as it adds records (worker/js/runtime/combiner.js
// says when).
bool Combinable(const proto::JobSpec& spec, const Graph& graph, int edge) {
  const proto::Edge& e = spec.edges(edge);
  const int to = graph.ends[edge].second;
  const proto::Operator& op = spec.operators(to);
  if (spec.no_combiners() || e.partitioning() != proto::HASH || !e.from_output().empty() ||
      op.kind() != "window" || graph.inputs[to].size() != 1 ||
      MayGoIdle(spec, graph, graph.ends[edge].first)) {
    return false;
  }
  const nlohmann::json config =
      nlohmann::json::parse(op.config_json().empty() ? "{}" : op.config_json(), nullptr, false);
  if (!config.is_object()) return false;
  const auto text = [&](const char* field, const char* otherwise) {
    auto it = config.find(field);
    if (it == config.end()) return std::string(otherwise);
    return it->is_string() ? it->get<std::string>() : std::string();
  };
  auto assigner = config.find("assigner");
  if (assigner == config.end() || !assigner->is_object()) return false;
  const std::string type = assigner->value("type", std::string());
  if (type != "tumbling" && type != "sliding" && type != "session") return false;
  if (text("time", "event") != "event") return false;
  auto trigger = config.find("trigger");
  if (trigger != config.end() &&
      !(trigger->is_object() && trigger->value("type", std::string()) == "event_time")) {
    return false;
  }
  const std::string function = text("function", "");
  // A session's partials are one a record, its accumulator: a reduce's is the record itself.
  if (function == "count" || (function == "reduce" && type != "session")) return true;
  auto merge = op.functions().find("merge");
  return function == "aggregate" && merge != op.functions().end() && !merge->second.empty();
}

// The groups (each a list of operators, upstream first; PlanJob orders them topologically);
// group_of maps each operator to its group and chained[e] says whether spec edge e is a call
// inside a group.
Result<std::vector<std::vector<int>>> BuildChains(const proto::JobSpec& spec, const Graph& graph,
                                                  std::vector<int>& group_of,
                                                  std::vector<bool>& chained) {
  const int n = spec.operators_size();
  std::vector<std::vector<int>> chains;
  group_of.assign(n, -1);
  chained.assign(spec.edges_size(), false);
  // An operator heads a chain unless its one input edge chains.
  auto chains_to_upstream = [&](int op) {
    const std::vector<int>& in = graph.inputs[op];
    return in.size() == 1 && Chainable(spec, graph, in[0]);
  };
  auto walk = [&](int head) {
    std::vector<int>& chain = chains.emplace_back();
    for (int op = head;;) {
      group_of[op] = static_cast<int>(chains.size()) - 1;
      chain.push_back(op);
      const std::vector<int>& out = graph.outputs[op];
      if (out.size() != 1 || !Chainable(spec, graph, out[0])) break;
      chained[out[0]] = true;
      op = graph.ends[out[0]].second;
    }
  };
  for (int head = 0; head < n; ++head) {
    if (!chains_to_upstream(head)) walk(head);
  }
  for (int op = 0; op < n; ++op) {
    if (group_of[op] < 0) {
      return Status::Internal("cannot plan: operator \"" + spec.operators(op).id() +
                              "\" is on a cycle");
    }
  }
  return chains;
}

// Kahn's algorithm over the groups, lowest spec position first among the ready ones.
Result<std::vector<int>> TopologicalOrder(int groups,
                                          const std::vector<std::pair<int, int>>& edges) {
  std::vector<int> in_degree(groups, 0);
  std::vector<std::vector<int>> next(groups);
  for (const auto& [from, to] : edges) {
    next[from].push_back(to);
    ++in_degree[to];
  }
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int g = 0; g < groups; ++g) {
    if (in_degree[g] == 0) ready.push(g);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int g = ready.top();
    ready.pop();
    order.push_back(g);
    for (int to : next[g]) {
      if (--in_degree[to] == 0) ready.push(to);
    }
  }
  if (static_cast<int>(order.size()) != groups) {
    return Status::Internal("cannot plan: the job's graph has a cycle");
  }
  return order;
}

}  // namespace

TaskId MakeTaskId(const JobId& job_id, int group, uint32_t subtask, uint32_t attempt) {
  std::string id = job_id.str() + "/g" + std::to_string(group) + "." + std::to_string(subtask);
  if (attempt > 0) id += "#" + std::to_string(attempt);
  return TaskId(id);
}

Result<ExecutionPlan> PlanJob(const proto::JobSpec& spec, const JobId& job_id, uint32_t attempt) {
  Result<Graph> graph = BuildGraph(spec);
  if (!graph.ok()) return graph.status();
  std::vector<int> group_of;
  std::vector<bool> chained;
  Result<std::vector<std::vector<int>>> chains = BuildChains(spec, *graph, group_of, chained);
  if (!chains.ok()) return chains.status();

  std::vector<std::pair<int, int>> group_edges;  // (from chain, to chain), spec edge order
  std::vector<int> exchange_edges;               // the spec edges that cross chains
  for (int e = 0; e < spec.edges_size(); ++e) {
    const auto [from, to] = graph->ends[e];
    if (chained[e]) continue;
    group_edges.emplace_back(group_of[from], group_of[to]);
    exchange_edges.push_back(e);
  }
  Result<std::vector<int>> order = TopologicalOrder(static_cast<int>(chains->size()), group_edges);
  if (!order.ok()) return order.status();

  std::vector<int> position(chains->size());
  ExecutionPlan plan;
  for (int index = 0; index < static_cast<int>(order->size()); ++index) {
    const std::vector<int>& chain = (*chains)[(*order)[index]];
    position[(*order)[index]] = index;
    TaskGroup& group = plan.groups.emplace_back();
    group.index = index;
    group.parallelism = graph->parallelism[chain.front()];
    for (int op : chain) {
      const proto::Operator& spec_op = spec.operators(op);
      group.operator_ids.push_back(spec_op.id());
      if (!group.display.empty()) group.display += " -> ";
      group.display += spec_op.name().empty() ? spec_op.id() : spec_op.name();
    }
    for (uint32_t subtask = 0; subtask < group.parallelism; ++subtask) {
      plan.tasks.push_back({MakeTaskId(job_id, index, subtask, attempt), index, subtask});
    }
  }
  for (size_t i = 0; i < exchange_edges.size(); ++i) {
    const proto::Edge& edge = spec.edges(exchange_edges[i]);
    proto::Partitioning partitioning = IsForward(edge) ? proto::FORWARD : edge.partitioning();
    GroupEdge& planned = plan.edges.emplace_back(
        GroupEdge{position[group_edges[i].first], position[group_edges[i].second], partitioning,
                  edge.input(), edge.key_fn(), edge.from_output(), ""});
    if (!Combinable(spec, *graph, exchange_edges[i])) continue;
    const proto::Operator& window = spec.operators(graph->ends[exchange_edges[i]].second);
    planned.combiner = window.id();
    plan.groups[planned.from].display +=
        " -> combine(" + (window.name().empty() ? window.id() : window.name()) + ")";
  }
  return plan;
}

}  // namespace sluice::coordinator
