#include "coordinator/scheduler.h"

#include <string>

namespace sluice::coordinator {

Result<std::vector<Assignment>> AssignSlots(const std::vector<WorkerSlots>& workers,
                                            const std::vector<PlannedTask>& tasks) {
  if (workers.empty()) {
    return Status::FailedPrecondition("no workers are registered with the coordinator");
  }
  uint64_t total_free = 0;
  for (const WorkerSlots& worker : workers) total_free += worker.free_slots;
  if (total_free < tasks.size()) {
    return Status::FailedPrecondition(
        "job needs " + std::to_string(tasks.size()) +
        (tasks.size() == 1 ? " task slot" : " task slots") + " but the cluster has " +
        std::to_string(total_free) + " free (" + std::to_string(workers.size()) +
        (workers.size() == 1 ? " worker" : " workers") + " registered)");
  }
  std::vector<uint32_t> left;
  left.reserve(workers.size());
  for (const WorkerSlots& worker : workers) left.push_back(worker.free_slots);

  std::vector<Assignment> assignments;
  assignments.reserve(tasks.size());
  size_t next = 0;  // the worker the next task tries first
  for (const PlannedTask& task : tasks) {
    while (left[next] == 0) next = (next + 1) % workers.size();  // total_free covers every task
    --left[next];
    assignments.push_back({task.id, workers[next].id});
    next = (next + 1) % workers.size();
  }
  return assignments;
}

}  // namespace sluice::coordinator
