#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include "worker/exchange/exchange.h"

namespace sluice::exchange {

struct Router::State {
  std::mutex mutex;
  std::condition_variable registered;
  std::unordered_map<TaskId, std::shared_ptr<Inbox>> inboxes;
};

Router::Router() : state_(std::make_unique<State>()) {}

Router::~Router() = default;

void Router::Register(std::shared_ptr<Inbox> inbox) {
  {
    std::lock_guard lock(state_->mutex);
    TaskId task = inbox->task();
    state_->inboxes[std::move(task)] = std::move(inbox);
  }
  state_->registered.notify_all();
}

void Router::Unregister(const TaskId& task) {
  std::lock_guard lock(state_->mutex);
  state_->inboxes.erase(task);
}

Result<std::shared_ptr<Inbox>> Router::Find(const TaskId& task, std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mutex);
  auto& inboxes = state_->inboxes;
  bool found = state_->registered.wait_for(lock, timeout,
                                           [&] { return inboxes.find(task) != inboxes.end(); });
  if (!found) {
    return Status::NotFound("task " + task.str() + " is not deployed on this worker (waited " +
                            std::to_string(timeout.count()) + " ms)");
  }
  return inboxes.at(task);
}

std::shared_ptr<Inbox> Router::Lookup(const TaskId& task) {
  std::lock_guard lock(state_->mutex);
  auto it = state_->inboxes.find(task);
  return it == state_->inboxes.end() ? nullptr : it->second;
}

}  // namespace sluice::exchange
