#include "worker/epoch_fence.h"

#include <spdlog/spdlog.h>

namespace sluice::worker {

Status EpochFence::Accept(uint64_t epoch, const std::string& call,
                          std::vector<TaskId>* superseded) {
  if (epoch < epoch_) {
    spdlog::warn("refused {} from coordinator epoch {}: epoch {} took over (fenced)", call, epoch,
                 epoch_);
    return Status::FailedPrecondition("worker " + worker_ + " refused " + call +
                                      ": coordinator epoch " + std::to_string(epoch) +
                                      " is fenced off by epoch " + std::to_string(epoch_));
  }
  if (epoch > epoch_) {
    if (epoch_ != 0) spdlog::info("coordinator epoch {} took over from {}", epoch, epoch_);
    epoch_ = epoch;
    for (const auto& [task, deployed_by] : task_epochs_) {
      if (deployed_by < epoch) superseded->push_back(task);
    }
  }
  return Status::Ok();
}

Status EpochFence::MayNotify(const TaskId& task, uint64_t epoch) const {
  auto deployed = task_epochs_.find(task);
  if (deployed == task_epochs_.end() || deployed->second == epoch) return Status::Ok();
  return Status::FailedPrecondition("task " + task.str() + " was deployed by coordinator epoch " +
                                    std::to_string(deployed->second) + ", not " +
                                    std::to_string(epoch));
}

}  // namespace sluice::worker
