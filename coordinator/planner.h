#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "sluice/job.pb.h"

namespace sluice::coordinator {

// Operators chained into one task: they run in one thread, records pass by function call.
struct TaskGroup {
  int index = 0;                          // position in ExecutionPlan::groups (topological order)
  std::vector<std::string> operator_ids;  // upstream first (topological order)
  std::string display;                    // operator names joined with " -> "
  uint32_t parallelism = 1;
};

// An edge between two groups: an exchange between tasks rather than a call inside one.
struct GroupEdge {
  int from = 0;  // TaskGroup::index
  int to = 0;
  proto::Partitioning partitioning = proto::FORWARD;
  uint32_t input = 0;  // which input of the downstream operator
  std::string key_fn;  // with HASH
  std::string from_output;  // "" the main output, "late" a window's late records
  // The window operator whose partial accumulators the sending tasks make before the exchange
  // (a combiner, see PlanJob); "" when records cross as they are.
  std::string combiner;
};

// One parallel instance of a group; the unit the scheduler puts on a slot.
struct PlannedTask {
  TaskId id;  // "<job_id>/g<group>.<subtask>"
  int group = 0;
  uint32_t subtask = 0;
};

// What a validated job becomes: groups in topological order, the exchanges between them, and
// every task (group by group, subtask by subtask). A plain value, owned by whoever planned it.
struct ExecutionPlan {
  std::vector<TaskGroup> groups;
  std::vector<GroupEdge> edges;
  std::vector<PlannedTask> tasks;
};

// "<job_id>/g<group>.<subtask>", and "...#<attempt>" for the tasks of a restarted job.
TaskId MakeTaskId(const JobId& job_id, int group, uint32_t subtask, uint32_t attempt = 0);

// Plans a validated spec. Chains consecutive operators joined by a FORWARD edge of equal
// parallelism where the upstream has exactly one output and the downstream exactly one input (as
// Flink does), and a HASH edge (keyBy) the same way when both sides have parallelism 1 (a task
// may hold several keyed operators, each keying its records itself). Where no repartitioning is
// needed a group may also be a DAG with one entry and one exit: fan-out of such edges (FORWARD of
// equal parallelism, or HASH into a keyed operator at parallelism 1) and fan-in (a union, the two
// inputs of a join) of inputs from inside the group; its operators are then listed in
// topological order and its display separates branches with " | ". Works for any acyclic
// graph; fails (internal) on a spec ValidateJob would refuse structurally (dangling edge, cycle,
// duplicate id). Pure.
// A HASH exchange into a window operator that can merge partial accumulators (event-time
// tumbling or sliding windows, the event-time trigger, count / reduce / an aggregate with merge;
// session windows with count / an aggregate; the operator's only input; nothing upstream with an
// idleTimeout) gets a combiner, unless the job sets no_combiners: the sending tasks pre-aggregate per key and slice within each
// batch (sessions: each record becomes its accumulator; worker/js/runtime/combiner.js) and their
// group's display ends in "-> combine(<window name>)".
// `attempt` counts the job's restarts; it only changes the task ids.
[[nodiscard]] Result<ExecutionPlan> PlanJob(const proto::JobSpec& spec, const JobId& job_id,
                                            uint32_t attempt = 0);

}  // namespace sluice::coordinator
