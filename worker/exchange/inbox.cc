#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "worker/exchange/exchange.h"

namespace sluice::exchange {

// Pushers wait on `room` with condition_variable_any so that a stop_token can interrupt them.
struct Inbox::State {
  State(TaskId task_id, uint32_t channel_count, size_t capacity_batches)
      : task(std::move(task_id)),
        channels(channel_count),
        capacity(capacity_batches == 0 ? 1 : capacity_batches),
        ended(channel_count, false) {}

  const TaskId task;
  const uint32_t channels;
  const size_t capacity;

  mutable std::mutex mutex;
  std::condition_variable_any room;   // a batch was popped, or the inbox closed
  std::condition_variable available;  // a batch arrived, a channel ended, or the inbox closed
  std::deque<Batch> queue;  // data batches count against capacity; end markers do not
  std::deque<bool> is_end;  // parallel to queue: the entry is a channel's end marker
  size_t batches = 0;       // queued entries that are not end markers
  std::vector<bool> ended;
  uint32_t ended_count = 0;
  bool closed = false;
  std::chrono::nanoseconds blocked{0};
};

Inbox::Inbox(TaskId task, uint32_t channels, size_t capacity_batches)
    : state_(std::make_shared<State>(std::move(task), channels, capacity_batches)) {}

bool Inbox::Push(uint32_t channel, Batch batch, std::stop_token stop) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (!s.closed && s.batches >= s.capacity) {
    auto start = std::chrono::steady_clock::now();
    s.room.wait(lock, stop, [&] { return s.closed || s.batches < s.capacity; });
    s.blocked += std::chrono::steady_clock::now() - start;
  }
  if (s.closed || s.batches >= s.capacity) return false;  // closed, or stopped while full
  batch.channel = channel;
  s.queue.push_back(std::move(batch));
  s.is_end.push_back(false);
  ++s.batches;
  lock.unlock();
  s.available.notify_one();
  return true;
}

void Inbox::EndChannel(uint32_t channel) {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    if (channel >= s.channels || s.ended[channel]) return;
    s.ended[channel] = true;
    ++s.ended_count;
    Batch marker;
    marker.channel = channel;
    s.queue.push_back(std::move(marker));
    s.is_end.push_back(true);
  }
  s.available.notify_all();
}

std::optional<Batch> Inbox::Pop() {
  while (true) {
    InboxItem item = Next(std::chrono::steady_clock::time_point::max());
    if (item.kind == InboxItem::Kind::kBatch) return std::move(item.batch);
    if (item.kind == InboxItem::Kind::kDone) return std::nullopt;
  }
}

InboxItem Inbox::Next(std::chrono::steady_clock::time_point deadline) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  auto ready = [&] { return s.closed || !s.queue.empty() || s.ended_count == s.channels; };
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    s.available.wait(lock, ready);
  } else if (!s.available.wait_until(lock, deadline, ready)) {
    return InboxItem{InboxItem::Kind::kTimeout, {}, 0};
  }
  if (s.closed || s.queue.empty()) return InboxItem{};
  InboxItem item;
  item.channel = s.queue.front().channel;
  const bool end = s.is_end.front();
  item.kind = end ? InboxItem::Kind::kChannelEnd : InboxItem::Kind::kBatch;
  if (!end) item.batch = std::move(s.queue.front());
  s.queue.pop_front();
  s.is_end.pop_front();
  if (end) return item;
  --s.batches;
  lock.unlock();
  s.room.notify_one();
  return item;
}

void Inbox::Close() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    s.closed = true;
    s.queue.clear();
    s.is_end.clear();
    s.batches = 0;
  }
  s.room.notify_all();
  s.available.notify_all();
}

const TaskId& Inbox::task() const { return state_->task; }

uint32_t Inbox::channels() const { return state_->channels; }

size_t Inbox::queued() const {
  std::lock_guard lock(state_->mutex);
  return state_->batches;
}

size_t Inbox::capacity() const { return state_->capacity; }

std::chrono::nanoseconds Inbox::blocked_time() const {
  std::lock_guard lock(state_->mutex);
  return state_->blocked;
}

}  // namespace sluice::exchange
