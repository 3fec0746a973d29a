#pragma once

#include <cstdint>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "coordinator/planner.h"

namespace sluice::coordinator {

// A registered worker and how many of its task slots are free right now.
struct WorkerSlots {
  WorkerId id;
  uint32_t free_slots = 0;
};

// Where one task runs.
struct Assignment {
  TaskId task;
  WorkerId worker;
};

// Puts each task on one free slot, round-robin across the workers that still have free slots,
// in the order given (two tasks on two workers land one on each). Assignments come in task order.
// Fails (FailedPrecondition, user domain) when no worker is registered or the free slots do not
// cover the tasks; nothing is assigned then. Pure: the caller reserves the slots.
[[nodiscard]] Result<std::vector<Assignment>> AssignSlots(const std::vector<WorkerSlots>& workers,
                                                          const std::vector<PlannedTask>& tasks);

}  // namespace sluice::coordinator
