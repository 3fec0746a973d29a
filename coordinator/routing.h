#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/ids.h"
#include "coordinator/planner.h"
#include "sluice/worker_service.pb.h"

namespace sluice::coordinator {

// How one task is wired into the exchange.
struct TaskRoutes {
  uint32_t input_channels = 0;  // one per (input edge, upstream subtask)
  std::string input_key_fn;     // of its HASH input, if any
  std::vector<uint32_t> channel_inputs;     // per channel: the input it feeds
  std::vector<std::string> input_key_fns;   // per input: the key selector of its HASH edge
  std::vector<proto::OutputRoute> outputs;
  bool combined_input = false;  // a HASH input with a combiner (GroupEdge::combiner) upstream
};

// Wires every task of a placed plan: a group's input edges number their channels one after the
// other (edge by edge, upstream subtask by subtask), and each upstream task learns its channel
// number and where every downstream subtask runs. A FORWARD edge between different
// parallelisms becomes REBALANCE (as in Flink). `address_of` gives each task's worker address.
// Pure.
std::map<TaskId, TaskRoutes> PlanRoutes(const ExecutionPlan& plan,
                                        const std::map<TaskId, std::string>& address_of);

}  // namespace sluice::coordinator
