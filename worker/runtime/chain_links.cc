#include "worker/runtime/chain_links.h"

#include <map>

#include "common/operator_kinds.h"

namespace sluice::runtime {
namespace {

// The job's edges between the task's operators, by the index of their upstream operator.
std::vector<std::vector<const proto::Edge*>> InsideEdges(
    const proto::JobSpec& job, const std::vector<const proto::Operator*>& operators,
    std::map<std::string, int>& index) {
  for (size_t i = 0; i < operators.size(); ++i) index[operators[i]->id()] = static_cast<int>(i);
  std::vector<std::vector<const proto::Edge*>> out(operators.size());
  for (const proto::Edge& edge : job.edges()) {
    auto from = index.find(edge.from());
    auto to = index.find(edge.to());
    if (from != index.end() && to != index.end()) out[from->second].push_back(&edge);
  }
  return out;
}

bool IsKeyed(const js::StageSpec& stage) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(stage.kind);
  return traits != nullptr && traits->keyed;
}

// A keyed stage fed by `edge` inside the chain keys that input with the edge's key selector.
void SetChainedKey(js::StageSpec& stage, const proto::Edge& edge) {
  if (!IsKeyed(stage)) return;
  if (stage.chained_key_fns.size() <= edge.input()) stage.chained_key_fns.resize(edge.input() + 1);
  stage.chained_key_fns[edge.input()] = edge.key_fn();
}

}  // namespace

bool IsDagChain(const proto::JobSpec& job, const std::vector<const proto::Operator*>& operators) {
  std::map<std::string, int> index;
  const auto out = InsideEdges(job, operators, index);
  size_t edges = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    edges += out[i].size();
    for (const proto::Edge* edge : out[i]) {
      if (index[edge->to()] != static_cast<int>(i) + 1) return true;
    }
  }
  return edges + 1 != operators.size() && !operators.empty();
}

void LinkDagChain(const proto::JobSpec& job, const std::vector<const proto::Operator*>& operators,
                  const std::vector<int>& stage_of, js::ChainSpec& spec) {
  std::map<std::string, int> index;
  const auto out = InsideEdges(job, operators, index);
  const int output = static_cast<int>(spec.stages.size());
  // Where operator i's records go, through operators without a stage; latest operator first so
  // that an operator's targets are known before those of the operators feeding it.
  std::vector<std::vector<js::StageLink>> targets(operators.size());
  for (int i = static_cast<int>(operators.size()) - 1; i >= 0; --i) {
    if (out[i].empty()) {  // the exit: its records leave the chain
      targets[i].push_back({output, 0});
      continue;
    }
    for (const proto::Edge* edge : out[i]) {
      const int to = index[edge->to()];
      if (stage_of[to] < 0) {
        targets[i].insert(targets[i].end(), targets[to].begin(), targets[to].end());
        continue;
      }
      targets[i].push_back({stage_of[to], edge->input()});
      if (stage_of[to] < output) SetChainedKey(spec.stages[stage_of[to]], *edge);
    }
  }
  // A union's outgoing edge names the key: union -> keyBy -> process. Its targets above carry
  // the union's edge's input; set the key selector for them too.
  for (size_t u = 0; u < operators.size(); ++u) {
    if (stage_of[u] >= 0) continue;
    for (const proto::Edge* edge : out[u]) {
      const int to = index[edge->to()];
      if (stage_of[to] >= 0 && stage_of[to] < output) {
        SetChainedKey(spec.stages[stage_of[to]], *edge);
      }
    }
  }
  // Each operator's last stage links to its targets; an operator of several stages (a sink
  // with functions of its own) runs them in a line.
  for (size_t i = 0; i < operators.size(); ++i) {
    if (stage_of[i] < 0 || stage_of[i] >= output) continue;
    int last = output - 1;
    for (size_t later = i + 1; later < operators.size(); ++later) {
      if (stage_of[later] >= 0) {
        last = stage_of[later] - 1;
        break;
      }
    }
    for (int s = stage_of[i]; s < last; ++s) spec.stages[s].next = {{s + 1, 0}};
    spec.stages[last].next = targets[i];
  }
  spec.dag = true;
  // The first keyed stage is keyed inside the chain unless it takes the chain's input.
  for (size_t s = 0; s < spec.stages.size(); ++s) {
    if (!IsKeyed(spec.stages[s])) continue;
    if (!spec.stages[s].chained_key_fns.empty()) {
      spec.keyed_input_in_chain = true;
      spec.input_key_fns = spec.stages[s].chained_key_fns;
      spec.input_key_fn = spec.input_key_fns[0];
    }
    break;
  }
}

}  // namespace sluice::runtime
