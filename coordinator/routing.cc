#include "coordinator/routing.h"

namespace sluice::coordinator {

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
    for (uint32_t s = 0; s < from.parallelism; ++s) {
      proto::OutputRoute route;
      route.set_partitioning(partitioning);
      route.set_key_fn(edge.key_fn);
      route.set_channel(base + s);
      route.set_late(edge.from_output == "late");
      if (!to.operator_ids.empty()) route.set_to_operator_id(to.operator_ids.front());
      for (const TaskId& target : tasks_of[edge.to]) {
        route.add_target_task_ids(target.str());
        auto address = address_of.find(target);
        route.add_target_addresses(address == address_of.end() ? "" : address->second);
      }
      routes[tasks_of[edge.from][s]].outputs.push_back(std::move(route));
    }
    for (const TaskId& target : tasks_of[edge.to]) {
      TaskRoutes& in = routes[target];
      in.channel_inputs.resize(base + from.parallelism, edge.input);
      if (partitioning != proto::HASH) continue;
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
