#include <algorithm>
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
        per_channel(std::max<size_t>(1, (capacity_batches + std::max(1u, channel_count) - 1) /
                                            std::max(1u, channel_count))),
        ended(channel_count, false),
        blocked(channel_count, false),
        queued(channel_count, 0) {}

  // The index in `queue` of the first entry whose channel is not blocked, or queue.size().
  size_t FirstUnblocked() const {
    if (blocked_count == 0) return 0;
    for (size_t i = 0; i < queue.size(); ++i) {
      if (!blocked[queue[i].channel]) return i;
    }
    return queue.size();
  }

  const TaskId task;
  const uint32_t channels;
  // Each channel may have this many batches queued: a bound per channel (not one for all) so
  // that channels blocked for barrier alignment never take the room the others need.
  const size_t per_channel;

  mutable std::mutex mutex;
  std::condition_variable_any room;   // a batch was popped, or the inbox closed
  std::condition_variable available;  // a batch arrived, a channel ended, or the inbox closed
  std::deque<Batch> queue;  // data batches count against capacity; end markers do not
  std::deque<bool> is_end;  // parallel to queue: the entry is a channel's end marker
  size_t batches = 0;       // queued entries that are not end markers
  std::vector<bool> ended;
  uint32_t ended_count = 0;
  std::vector<bool> blocked;  // held back by Block() until Unblock()
  uint32_t blocked_count = 0;
  std::vector<size_t> queued;  // data batches queued per channel
  bool closed = false;
  std::chrono::nanoseconds blocked_time{0};
};

Inbox::Inbox(TaskId task, uint32_t channels, size_t capacity_batches)
    : state_(std::make_shared<State>(std::move(task), channels, capacity_batches)) {}

bool Inbox::Push(uint32_t channel, Batch batch, std::stop_token stop) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (channel >= s.channels) return false;
  auto full = [&] { return s.queued[channel] >= s.per_channel; };
  if (!s.closed && full()) {
    auto start = std::chrono::steady_clock::now();
    s.room.wait(lock, stop, [&] { return s.closed || !full(); });
    s.blocked_time += std::chrono::steady_clock::now() - start;
  }
  if (s.closed || full()) return false;  // closed, or stopped while full
  batch.channel = channel;
  s.queue.push_back(std::move(batch));
  s.is_end.push_back(false);
  ++s.batches;
  ++s.queued[channel];
  lock.unlock();
  s.available.notify_all();
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

InboxItem Inbox::Next(std::chrono::steady_clock::time_point deadline) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  auto ready = [&] {
    return s.closed || s.FirstUnblocked() < s.queue.size() ||
           (s.queue.empty() && s.ended_count == s.channels);
  };
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    s.available.wait(lock, ready);
  } else if (!s.available.wait_until(lock, deadline, ready)) {
    return InboxItem{InboxItem::Kind::kTimeout, {}, 0};
  }
  const size_t at = s.FirstUnblocked();
  if (s.closed || at >= s.queue.size()) return InboxItem{};
  InboxItem item;
  item.channel = s.queue[at].channel;
  const bool end = s.is_end[at];
  item.kind = end ? InboxItem::Kind::kChannelEnd : InboxItem::Kind::kBatch;
  if (!end) item.batch = std::move(s.queue[at]);
  s.queue.erase(s.queue.begin() + static_cast<std::ptrdiff_t>(at));
  s.is_end.erase(s.is_end.begin() + static_cast<std::ptrdiff_t>(at));
  if (end) return item;
  --s.batches;
  --s.queued[item.channel];
  lock.unlock();
  s.room.notify_all();
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
    std::fill(s.queued.begin(), s.queued.end(), 0);
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

size_t Inbox::capacity() const { return state_->per_channel * state_->channels; }

std::chrono::nanoseconds Inbox::blocked_time() const {
  std::lock_guard lock(state_->mutex);
  return state_->blocked_time;
}

void Inbox::Block(uint32_t channel) {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (channel >= s.channels || s.blocked[channel]) return;
  s.blocked[channel] = true;
  ++s.blocked_count;
}

void Inbox::UnblockAll() {
  State& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    std::fill(s.blocked.begin(), s.blocked.end(), false);
    s.blocked_count = 0;
  }
  s.available.notify_all();
}

}  // namespace sluice::exchange
