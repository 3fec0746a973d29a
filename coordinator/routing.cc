#include "coordinator/routing.h"

namespace sluice::coordinator {
namespace {

// Whether every target id is `prefix` + its subtask + `suffix` (the planner's "job/gN." and
// "" or "#attempt"); sets both.
bool CommonForm(const std::vector<TaskId>& targets, std::string* prefix, std::string* suffix) {
  if (targets.empty()) return false;
  const std::string& first = targets[0].str();
  const size_t dot = first.rfind('.');
  if (dot == std::string::npos || dot + 1 >= first.size() || first[dot + 1] != '0') return false;
  const size_t end = first.find('#', dot);
  *prefix = first.substr(0, dot + 1);
  *suffix = end == std::string::npos ? "" : first.substr(end);
  for (size_t i = 0; i < targets.size(); ++i) {
    if (targets[i].str() != *prefix + std::to_string(i) + *suffix) return false;
  }
  return true;
}

}  // namespace

std::map<TaskId, TaskRoutes> PlanRoutes(const ExecutionPlan& plan,
                                        const std::map<TaskId, std::string>& address_of) {
  // tasks_of[group][subtask]
  std::vector<std::vector<TaskId>> tasks_of(plan.groups.size());
  for (const TaskGroup& group : plan.groups) tasks_of[group.index].resize(group.parallelism);
  for (const PlannedTask& task : plan.tasks) tasks_of[task.group][task.subtask] = task.id;

  std::map<TaskId, TaskRoutes> routes;
  for (const PlannedTask& task : plan.tasks) routes[task.id];

  std::vector<uint32_t> next_channel(plan.groups.size(), 0);
  for (const GroupEdge& edge : plan.edges) {
    const TaskGroup& from = plan.groups[edge.from];
    const TaskGroup& to = plan.groups[edge.to];
    const uint32_t base = next_channel[edge.to];
    next_channel[edge.to] += from.parallelism;
    proto::Partitioning partitioning = edge.partitioning;
    if (partitioning == proto::PARTITIONING_UNSPECIFIED) partitioning = proto::FORWARD;
    if (partitioning == proto::FORWARD && from.parallelism != to.parallelism) {
      partitioning = proto::REBALANCE;
    }
    // The targets once for the edge, compact when their ids are prefix + subtask + suffix (as
    // the planner makes them): each address once, each target an index.
    std::string prefix, suffix;
    bool compact = CommonForm(tasks_of[edge.to], &prefix, &suffix);
    google::protobuf::RepeatedPtrField<std::string> worker_addresses;
    google::protobuf::RepeatedField<uint32_t> target_worker;
    if (compact) {
      std::map<std::string, uint32_t> index;
      for (const TaskId& target : tasks_of[edge.to]) {
        auto address = address_of.find(target);
        const std::string& where = address == address_of.end() ? "" : address->second;
        auto [it, added] = index.emplace(where, static_cast<uint32_t>(index.size()));
        if (added) *worker_addresses.Add() = where;
        target_worker.Add(it->second);
      }
    }
    for (uint32_t s = 0; s < from.parallelism; ++s) {
      proto::OutputRoute route;
      route.set_partitioning(partitioning);
      route.set_key_fn(edge.key_fn);
      route.set_channel(base + s);
      route.set_late(edge.from_output == "late");
      route.set_combine(!edge.combiner.empty());
      if (!to.operator_ids.empty()) route.set_to_operator_id(to.operator_ids.front());
      if (compact) {
        *route.mutable_target_worker() = target_worker;
        *route.mutable_worker_addresses() = worker_addresses;
        route.set_target_count(static_cast<uint32_t>(tasks_of[edge.to].size()));
        route.set_target_prefix(prefix);
        route.set_target_suffix(suffix);
      } else {
        for (const TaskId& target : tasks_of[edge.to]) {
          route.add_target_task_ids(target.str());
          auto address = address_of.find(target);
          route.add_target_addresses(address == address_of.end() ? "" : address->second);
        }
      }
      routes[tasks_of[edge.from][s]].outputs.push_back(std::move(route));
    }
    for (const TaskId& target : tasks_of[edge.to]) {
      TaskRoutes& in = routes[target];
      in.channel_inputs.resize(base + from.parallelism, edge.input);
      if (partitioning != proto::HASH) continue;
      if (!edge.combiner.empty()) in.combined_input = true;
      if (edge.input == 0) in.input_key_fn = edge.key_fn;
      if (in.input_key_fns.size() <= edge.input) in.input_key_fns.resize(edge.input + 1);
      in.input_key_fns[edge.input] = edge.key_fn;
    }
  }
  for (const PlannedTask& task : plan.tasks) {
    routes[task.id].input_channels = next_channel[task.group];
  }
  return routes;
}

}  // namespace sluice::coordinator
