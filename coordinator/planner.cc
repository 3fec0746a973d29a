#include "coordinator/planner.h"

#include <queue>
#include <unordered_map>
#include <utility>

#include <nlohmann/json.hpp>

#include "common/key_partitioning.h"
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
// operator then keys them itself (its key selector is the edge's). And a HASH edge that is
// already partitioned (common/key_partitioning.h: the user's mark, or a window's records keyed
// by their own key again), at equal parallelism: subtask i's records are already those of
// subtask i's key groups; the task checks each record's key group. A chain may hold several
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
  return spec.edges(edge).partitioning() == proto::HASH &&
         (graph.parallelism[to] == 1 ||
          AlreadyPartitioned(spec.operators(from), spec.edges(edge))) &&
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

// An edge a DAG-shaped group may hold (BuildChains): what Chainable asks of the edge itself,
// without asking that its ends have one output and one input.
bool DagChainable(const proto::JobSpec& spec, const Graph& graph, int edge) {
  const auto [from, to] = graph.ends[edge];
  if (from == to || !spec.edges(edge).from_output().empty() ||
      graph.parallelism[from] != graph.parallelism[to]) {
    return false;
  }
  if (IsForward(spec.edges(edge))) return true;
  return spec.edges(edge).partitioning() == proto::HASH && graph.parallelism[to] == 1 &&
         Keyed(spec, to);
}

// A kind with no stage of its own in a chain (union: merging inputs is the exchange's work, or
// the chain's inside a DAG group).
bool Stageless(const proto::JobSpec& spec, int op) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(spec.operators(op).kind());
  return traits != nullptr && traits->role == OperatorRole::kTransform && !traits->keyed &&
         traits->inline_stage == InlineStage::kNone;
}

// Operators in topological order, lowest spec position first among the ready ones; empty when
// the graph has a cycle.
std::vector<int> OperatorOrder(const Graph& graph) {
  const int n = static_cast<int>(graph.parallelism.size());
  std::vector<int> in_degree(n, 0);
  for (const auto& [from, to] : graph.ends) ++in_degree[to];
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (int op = 0; op < n; ++op) {
    if (in_degree[op] == 0) ready.push(op);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int op = ready.top();
    ready.pop();
    order.push_back(op);
    for (int e : graph.outputs[op]) {
      if (--in_degree[graph.ends[e].second] == 0) ready.push(graph.ends[e].second);
    }
  }
  if (static_cast<int>(order.size()) != n) order.clear();
  return order;
}

int Find(std::vector<int>& parent, int x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}

// The DAG-shaped groups (BuildChains): operators joined by edges that are each DagChainable,
// where an operator chains all its outputs or none and all its inputs or none. A group is kept
// when it has one entry (the only operator whose inputs, if any, cross tasks) and one exit (the
// only operator whose outputs, if any, cross tasks): a task has one input and one output. An
// entry or a fan-out that is a stageless union is not kept (the chain has no stage to branch
// from), nor one holding an operator after its entry that may go idle (an `idleTimeout`).
// Sets dag[e] for the edges of the kept groups.
void DagEdges(const proto::JobSpec& spec, const Graph& graph, std::vector<bool>& dag) {
  const int n = spec.operators_size();
  dag.assign(spec.edges_size(), false);
  std::vector<bool> all_out(n, true), all_in(n, true);
  for (int e = 0; e < spec.edges_size(); ++e) {
    if (DagChainable(spec, graph, e)) continue;
    all_out[graph.ends[e].first] = false;
    all_in[graph.ends[e].second] = false;
  }
  std::vector<int> parent(n);
  for (int op = 0; op < n; ++op) parent[op] = op;
  std::vector<bool> candidate(spec.edges_size(), false);
  for (int e = 0; e < spec.edges_size(); ++e) {
    const auto [from, to] = graph.ends[e];
    if (!all_out[from] || !all_in[to] || !DagChainable(spec, graph, e)) continue;
    if (Stageless(spec, from) && graph.outputs[from].size() > 1) continue;
    candidate[e] = true;
    parent[Find(parent, from)] = Find(parent, to);
  }
  // Per group root: how many entries and exits, and whether it is more than a line.
  std::vector<int> entries(n, 0), exits(n, 0);
  std::vector<bool> branches(n, false), bad(n, false);
  for (int op = 0; op < n; ++op) {
    int in = 0, out = 0;
    for (int e : graph.inputs[op]) in += candidate[e] ? 1 : 0;
    for (int e : graph.outputs[op]) out += candidate[e] ? 1 : 0;
    const int root = Find(parent, op);
    if (in == 0) {
      ++entries[root];
      if (Stageless(spec, op) && out > 1) bad[root] = true;
    } else if (spec.operators(op).config_json().find("idleTimeout") != std::string::npos) {
      // An assigner inside that may go idle: behind an exchange the operators it feeds would
      // leave its input out of their watermark; inside a task its branch would hold them back.
      bad[root] = true;
    }
    if (out == 0) ++exits[root];
    if (in > 1 || out > 1) branches[root] = true;
  }
  for (int e = 0; e < spec.edges_size(); ++e) {
    const int root = Find(parent, graph.ends[e].first);
    dag[e] = candidate[e] && branches[root] && !bad[root] && entries[root] == 1 &&
             exits[root] == 1;
  }
}

// The groups (each a list of operators, upstream first; PlanJob orders them topologically);
// group_of maps each operator to its group and chained[e] says whether spec edge e is a call
// inside a group. Linear runs chain as Chainable says; where no repartitioning is needed a
// group may also be a DAG (DagEdges): fan-out to operators of the same parallelism, and fan-in
// (union, the two inputs of a join) of inputs from inside the group. Its operators are listed
// in topological order.
Result<std::vector<std::vector<int>>> BuildChains(const proto::JobSpec& spec, const Graph& graph,
                                                  std::vector<int>& group_of,
                                                  std::vector<bool>& chained) {
  const int n = spec.operators_size();
  const std::vector<int> order = OperatorOrder(graph);
  if (static_cast<int>(order.size()) != n) {
    return Status::Internal("cannot plan: the job's graph has a cycle");
  }
  std::vector<bool> dag;
  DagEdges(spec, graph, dag);
  chained.assign(spec.edges_size(), false);
  std::vector<int> parent(n);
  for (int op = 0; op < n; ++op) parent[op] = op;
  for (int e = 0; e < spec.edges_size(); ++e) {
    const auto [from, to] = graph.ends[e];
    if (dag[e] || Chainable(spec, graph, e)) {
      chained[e] = true;
      parent[Find(parent, from)] = Find(parent, to);
    }
  }
  // Groups numbered by their entry's spec position (as the linear chains always were).
  std::vector<std::vector<int>> chains;
  group_of.assign(n, -1);
  std::vector<int> chain_of_root(n, -1);
  for (int op = 0; op < n; ++op) {
    bool entry = true;
    for (int e : graph.inputs[op]) entry = entry && !chained[e];
    if (!entry) continue;
    chain_of_root[Find(parent, op)] = static_cast<int>(chains.size());
    chains.emplace_back();
  }
  for (int op : order) {
    const int chain = chain_of_root[Find(parent, op)];
    if (chain < 0) return Status::Internal("cannot plan: a group without an entry");
    group_of[op] = chain;
    chains[chain].push_back(op);
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

// Whether a chained edge goes from operator `from` to `to`.
bool Feeds(const Graph& graph, const std::vector<bool>& chained, int from, int to) {
  for (int e : graph.outputs[from]) {
    if (chained[e] && graph.ends[e].second == to) return true;
  }
  return false;
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
    for (size_t at = 0; at < chain.size(); ++at) {
      const proto::Operator& spec_op = spec.operators(chain[at]);
      group.operator_ids.push_back(spec_op.id());
      // " -> " where the operator before feeds this one; " | " starts another branch of a DAG.
      if (at > 0) {
        group.display += Feeds(*graph, chained, chain[at - 1], chain[at]) ? " -> " : " | ";
      }
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
