#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/status.h"

namespace sluice::worker {

// Which coordinator a worker obeys. Every coordinator call carries the coordinator's epoch (a
// restarted or newly elected coordinator has a higher one). The fence keeps the newest epoch
// seen and the epoch that deployed each task:
// - a call from an older epoch is refused, naming both epochs;
// - a newer epoch is adopted, and the tasks older epochs deployed are handed back to be
//   cancelled (the new coordinator redeploys the job as a new attempt);
// - a checkpoint notification (a sink's commit) is obeyed only from the epoch that deployed the
//   task, so a deposed coordinator's late "complete" never commits anything.
// Pure bookkeeping, no I/O; not thread-safe: the WorkerNode calls it under its own lock.
class EpochFence {
 public:
  explicit EpochFence(std::string worker) : worker_(std::move(worker)) {}

  // OK for `epoch` >= the newest seen; FailedPrecondition naming `call` and both epochs for an
  // older one. Adopting a newer epoch appends to `superseded` the tasks an older epoch deployed.
  Status Accept(uint64_t epoch, const std::string& call, std::vector<TaskId>* superseded);

  void Deployed(const TaskId& task, uint64_t epoch) { task_epochs_[task] = epoch; }
  void Forget(const TaskId& task) { task_epochs_.erase(task); }
  // OK when `epoch` deployed `task` (or the task is unknown here); FailedPrecondition otherwise.
  Status MayNotify(const TaskId& task, uint64_t epoch) const;

  void set_worker(std::string worker) { worker_ = std::move(worker); }
  uint64_t epoch() const { return epoch_; }

 private:
  std::string worker_;  // named in refusals
  uint64_t epoch_ = 0;  // the newest seen; 0 before any
  std::map<TaskId, uint64_t> task_epochs_;
};

}  // namespace sluice::worker
