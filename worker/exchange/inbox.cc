#include <algorithm>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <vector>

#include "worker/exchange/exchange.h"

namespace sluice::exchange {

InboxBudget::InboxBudget(size_t worker_bytes, size_t task_max_bytes)
    : worker_bytes_(std::max<size_t>(1, worker_bytes)),
      task_max_bytes_(std::max<size_t>(1, task_max_bytes)) {}

size_t InboxBudget::task_share() const {
  const size_t tasks = std::max<size_t>(1, tasks_.load(std::memory_order_relaxed));
  return std::min(task_max_bytes_, worker_bytes_ / tasks);
}

void InboxBudget::Join() { tasks_.fetch_add(1, std::memory_order_relaxed); }

void InboxBudget::Leave() { tasks_.fetch_sub(1, std::memory_order_relaxed); }

namespace {

constexpr size_t kUnbounded = std::numeric_limits<size_t>::max();
// A channel held for running ahead has this share of its room (Inbox::Hold).
constexpr size_t kHeldShare = 16;
// A batch that only moves time on does not wake a reader whose wait ends within this anyway.
constexpr auto kTimeOnlyWake = std::chrono::milliseconds(50);

size_t PerChannel(size_t capacity_batches, uint32_t channels) {
  if (capacity_batches == 0) return kUnbounded;
  const size_t n = std::max(1u, channels);
  return std::max<size_t>(1, (capacity_batches + n - 1) / n);
}

// A batch offered beyond its channel's room, waiting to be admitted: then `room` runs.
struct Waiting {
  size_t cost = 0;
  std::function<void()> room;
  std::chrono::steady_clock::time_point since;
};

}  // namespace

// Pushers wait on `room` with condition_variable_any so that a stop_token can interrupt them.
// "Admitted" batches are those within their channel's room: every pushed batch, and offered
// ones once their `room` callback ran. Admission is in channel order, so a channel's front is
// always admitted.
struct Inbox::State {
  State(TaskId task_id, uint32_t channel_count, size_t capacity_batches,
        std::shared_ptr<InboxBudget> inbox_budget)
      : task(std::move(task_id)),
        channels(channel_count),
        per_channel(PerChannel(capacity_batches, channel_count)),
        budget(std::move(inbox_budget)),
        ended(channel_count, false),
        blocked(channel_count, false),
        held(channel_count, false),
        admitted(channel_count, 0),
        admitted_bytes(channel_count, 0),
        waiting(channel_count) {}

  // The index in `queue` of the first entry whose channel is not blocked, or queue.size().
  size_t FirstUnblocked() const {
    if (blocked_count == 0) return 0;
    for (size_t i = 0; i < queue.size(); ++i) {
      if (!blocked[queue[i].channel]) return i;
    }
    return queue.size();
  }

  // The queued batch of `channel` that a time-only batch can be folded into: its last entry,
  // when that only moves time on too; else null.
  Batch* TimeOnlyTail(uint32_t channel) {
    for (size_t i = queue.size(); i-- > 0;) {
      if (queue[i].channel != channel) continue;
      return !is_end[i] && queue[i].time_only() ? &queue[i] : nullptr;
    }
    return nullptr;
  }
  // Whether a time-only batch pushed now should wake the reader: one that waits past
  // kTimeOnlyWake from now (it would not see the batch soon enough otherwise), or while a
  // sender waits for room (the watermark may be what lets its held channel go). A channel held
  // for running ahead whose sender has room waits for the reader's deadline like any other; a
  // sender about to wait for room wakes the reader itself (Push).
  bool WakeForTime() const {
    if (!reader_waiting) return false;
    return SendersWaiting() ||
           reader_deadline - std::chrono::steady_clock::now() > kTimeOnlyWake;
  }
  bool SendersWaiting() const {
    if (senders_waiting > 0) return true;
    for (const std::deque<Waiting>& q : waiting) {
      if (!q.empty()) return true;
    }
    return false;
  }

  // What a batch counts against the byte room.
  size_t Cost(const Batch& batch) const {
    return budget == nullptr ? 0 : batch.data.size() + InboxBudget::kBatchOverhead;
  }
  size_t RoomBytes() const {
    if (budget == nullptr) return kUnbounded;
    return std::max<size_t>(1, budget->task_share() / std::max(1u, channels));
  }
  // No room for one more batch: a channel with nothing admitted always has room. A held
  // channel has a sixteenth of its room.
  bool Full(uint32_t channel) const {
    if (admitted[channel] == 0) return false;
    size_t batches = per_channel;
    size_t bytes = RoomBytes();
    if (held[channel]) {
      batches = per_channel == kUnbounded ? kUnbounded : std::max<size_t>(1, batches / kHeldShare);
      bytes = bytes == kUnbounded ? kUnbounded : std::max<size_t>(1, bytes / kHeldShare);
    }
    return admitted[channel] >= batches || admitted_bytes[channel] >= bytes;
  }
  // Lets `channel` out of Block/Hold; its offered batches that now fit go to `run`.
  void Release(uint32_t channel, std::vector<std::function<void()>>& run) {
    if (blocked[channel]) {
      blocked[channel] = false;
      --blocked_count;
    }
    if (held[channel]) {
      held[channel] = false;
      AdmitWaiting(channel, run);
    }
  }
  void Admit(uint32_t channel, size_t cost) {
    ++admitted[channel];
    admitted_bytes[channel] += cost;
  }
  // Takes the queued batch at `at` (not an end marker) and makes its room: unlocks `lock`, then
  // wakes the pushers and runs the offered batches' callbacks that now fit.
  Batch Take(size_t at, std::unique_lock<std::mutex>& lock) {
    Batch batch = std::move(queue[at]);
    queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(at));
    is_end.erase(is_end.begin() + static_cast<std::ptrdiff_t>(at));
    --batches;
    bytes -= batch.data.size();
    --admitted[batch.channel];
    admitted_bytes[batch.channel] -= Cost(batch);
    std::vector<std::function<void()>> run;
    AdmitWaiting(batch.channel, run);
    lock.unlock();
    room.notify_all();
    for (auto& callback : run) callback();
    return batch;
  }
  // Admits the offered batches of `channel` that fit now; their callbacks go to `run`.
  void AdmitWaiting(uint32_t channel, std::vector<std::function<void()>>& run) {
    std::deque<Waiting>& q = waiting[channel];
    while (!q.empty() && !Full(channel)) {
      Admit(channel, q.front().cost);
      blocked_time += std::chrono::steady_clock::now() - q.front().since;
      run.push_back(std::move(q.front().room));
      q.pop_front();
    }
  }

  const TaskId task;
  const uint32_t channels;
  // Each channel may have this many batches admitted: a bound per channel (not one for all) so
  // that channels blocked for barrier alignment never take the room the others need.
  const size_t per_channel;
  const std::shared_ptr<InboxBudget> budget;  // the byte room; null: none

  mutable std::mutex mutex;
  std::condition_variable_any room;   // a batch was popped, or the inbox closed
  std::condition_variable available;  // a batch arrived, a channel ended, or the inbox closed
  std::deque<Batch> queue;  // data batches count against capacity; end markers do not
  std::deque<bool> is_end;  // parallel to queue: the entry is a channel's end marker
  size_t batches = 0;       // queued entries that are not end markers
  size_t bytes = 0;         // their data
  std::vector<bool> ended;
  uint32_t ended_count = 0;
  std::vector<bool> blocked;  // held back by Block() or Hold() until Unblock()
  uint32_t blocked_count = 0;
  std::vector<bool> held;  // by Hold(): a sixteenth of the room until Unblock()
  std::vector<size_t> admitted;        // batches admitted and queued, per channel
  std::vector<size_t> admitted_bytes;  // their cost
  std::vector<std::deque<Waiting>> waiting;  // offered beyond the room, per channel
  bool closed = false;
  std::chrono::nanoseconds blocked_time{0};
  uint32_t senders_waiting = 0;  // in Push(), waiting for room
  bool reader_waiting = false;  // in Next(), until reader_deadline
  std::chrono::steady_clock::time_point reader_deadline;
};

Inbox::Inbox(TaskId task, uint32_t channels, size_t capacity_batches)
    : state_(std::make_shared<State>(std::move(task), channels, capacity_batches, nullptr)) {}

Inbox::Inbox(TaskId task, uint32_t channels, std::shared_ptr<InboxBudget> budget,
             size_t capacity_batches)
    : state_(std::make_shared<State>(std::move(task), channels, capacity_batches,
                                     std::move(budget))) {
  if (state_->budget != nullptr) state_->budget->Join();
}

Inbox::~Inbox() {
  if (state_->budget != nullptr) state_->budget->Leave();
}

bool Inbox::Push(uint32_t channel, Batch batch, std::stop_token stop) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (channel >= s.channels) return false;
  const bool time_only = batch.time_only();
  if (time_only && !s.closed) {
    if (Batch* tail = s.TimeOnlyTail(channel); tail != nullptr) {
      tail->watermark = std::max(*tail->watermark, *batch.watermark);
      const bool wake = s.WakeForTime();
      lock.unlock();
      if (wake) s.available.notify_all();
      return true;
    }
  }
  if (!s.closed && s.Full(channel)) {
    // A reader left asleep by time-only batches (WakeForTime) reads them now: one may be what
    // lets this channel go.
    if (s.reader_waiting) s.available.notify_all();
    auto start = std::chrono::steady_clock::now();
    ++s.senders_waiting;
    s.room.wait(lock, stop, [&] { return s.closed || !s.Full(channel); });
    --s.senders_waiting;
    s.blocked_time += std::chrono::steady_clock::now() - start;
  }
  if (s.closed || s.Full(channel)) return false;  // closed, or stopped while full
  batch.channel = channel;
  s.Admit(channel, s.Cost(batch));
  s.bytes += batch.data.size();
  s.queue.push_back(std::move(batch));
  s.is_end.push_back(false);
  ++s.batches;
  const bool wake = !time_only || s.WakeForTime();
  lock.unlock();
  if (wake) s.available.notify_all();
  return true;
}

bool Inbox::Offer(uint32_t channel, Batch batch, std::function<void()> room) {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  if (channel >= s.channels || s.closed) return false;
  batch.channel = channel;
  const size_t cost = s.Cost(batch);
  const bool admitted = s.waiting[channel].empty() && !s.Full(channel);
  if (admitted) {
    s.Admit(channel, cost);
  } else {
    s.waiting[channel].push_back({cost, std::move(room), std::chrono::steady_clock::now()});
  }
  s.bytes += batch.data.size();
  s.queue.push_back(std::move(batch));
  s.is_end.push_back(false);
  ++s.batches;
  lock.unlock();
  s.available.notify_all();
  if (admitted) room();
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
  s.reader_waiting = true;
  s.reader_deadline = deadline;
  bool woken = true;
  if (deadline == std::chrono::steady_clock::time_point::max()) {
    s.available.wait(lock, ready);
  } else {
    woken = s.available.wait_until(lock, deadline, ready);
  }
  s.reader_waiting = false;
  if (!woken) return InboxItem{InboxItem::Kind::kTimeout, {}, 0};
  const size_t at = s.FirstUnblocked();
  if (s.closed || at >= s.queue.size()) return InboxItem{};
  InboxItem item;
  item.channel = s.queue[at].channel;
  const bool end = s.is_end[at];
  item.kind = end ? InboxItem::Kind::kChannelEnd : InboxItem::Kind::kBatch;
  if (end) {
    s.queue.erase(s.queue.begin() + static_cast<std::ptrdiff_t>(at));
    s.is_end.erase(s.is_end.begin() + static_cast<std::ptrdiff_t>(at));
    return item;
  }
  item.batch = s.Take(at, lock);
  return item;
}

std::optional<Batch> Inbox::TakeTimeOnly() {
  State& s = *state_;
  std::unique_lock lock(s.mutex);
  const size_t at = s.FirstUnblocked();
  if (s.closed || at >= s.queue.size() || s.is_end[at] || !s.queue[at].time_only()) {
    return std::nullopt;
  }
  return s.Take(at, lock);
}

void Inbox::Close() {
  State& s = *state_;
  std::vector<std::function<void()>> run;
  {
    std::lock_guard lock(s.mutex);
    s.closed = true;
    s.queue.clear();
    s.is_end.clear();
    s.batches = 0;
    s.bytes = 0;
    std::fill(s.admitted.begin(), s.admitted.end(), 0);
    std::fill(s.admitted_bytes.begin(), s.admitted_bytes.end(), 0);
    for (auto& waiting : s.waiting) {
      for (Waiting& w : waiting) run.push_back(std::move(w.room));
      waiting.clear();
    }
  }
  s.room.notify_all();
  s.available.notify_all();
  // The senders waiting for room learn that the task is gone with their next batch.
  for (auto& room : run) room();
}

const TaskId& Inbox::task() const { return state_->task; }

uint32_t Inbox::channels() const { return state_->channels; }

size_t Inbox::queued() const {
  std::lock_guard lock(state_->mutex);
  return state_->batches;
}

size_t Inbox::queued_bytes() const {
  std::lock_guard lock(state_->mutex);
  return state_->bytes;
}

size_t Inbox::capacity_bytes() const {
  if (state_->budget == nullptr) return 0;
  return state_->RoomBytes() * state_->channels;
}

size_t Inbox::capacity() const {
  if (state_->per_channel == kUnbounded) return 0;
  return state_->per_channel * state_->channels;
}

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

void Inbox::Hold(uint32_t channel) {
  State& s = *state_;
  std::lock_guard lock(s.mutex);
  if (channel >= s.channels) return;
  s.held[channel] = true;
  if (s.blocked[channel]) return;
  s.blocked[channel] = true;
  ++s.blocked_count;
}

void Inbox::Unblock(uint32_t channel) {
  State& s = *state_;
  std::vector<std::function<void()>> run;
  {
    std::lock_guard lock(s.mutex);
    if (channel >= s.channels || (!s.blocked[channel] && !s.held[channel])) return;
    s.Release(channel, run);
  }
  s.available.notify_all();
  s.room.notify_all();
  for (auto& room : run) room();
}

void Inbox::UnblockAll() {
  State& s = *state_;
  std::vector<std::function<void()>> run;
  {
    std::lock_guard lock(s.mutex);
    for (uint32_t c = 0; c < s.channels; ++c) s.Release(c, run);
  }
  s.available.notify_all();
  s.room.notify_all();
  for (auto& room : run) room();
}

}  // namespace sluice::exchange
