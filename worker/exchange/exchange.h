#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "common/auth.h"
#include "common/ids.h"
#include "common/status.h"

namespace sluice::exchange {

// A batch of records on its way from one task to another, as the upstream chain encoded them
// (opaque to the exchange), and what the sender says about time after them: its watermark when
// it advanced, and whether it went idle (no data for a while: do not wait for its watermark) —
// any later batch of the channel means it is active again. `data` may be empty when only time
// moved.
struct Batch {
  std::string data;
  uint64_t records = 0;
  std::optional<int64_t> watermark;
  bool idle = false;
  uint64_t barrier = 0;  // checkpoint n's barrier, after the data and time above (0: none)
  uint32_t channel = 0;  // set by Inbox::Push
};

// What Inbox::Next hands out.
struct InboxItem {
  enum class Kind {
    kBatch,       // `batch` arrived on batch.channel
    kChannelEnd,  // channel `channel` sent its last batch (after all its batches)
    kTimeout,     // nothing arrived before the deadline
    kDone,        // every channel ended and everything was taken, or the inbox was closed
  };
  Kind kind = Kind::kDone;
  Batch batch;
  uint32_t channel = 0;
};

// Where a receiving task gets its input: every upstream channel (one per upstream subtask and
// input edge) pushes into the task's one inbox. Bounded per channel (the capacity given is
// shared out, at least 1 batch a channel): Push blocks while its channel's room is full, which
// is what slows producers down (backpressure), locally and, through credits, across workers.
// Created by the worker when it deploys the receiving task, shared with the router and the
// channels feeding it (shared_ptr); thread-safe.
class Inbox {
 public:
  Inbox(TaskId task, uint32_t channels, size_t capacity_batches);

  // Blocks while the inbox is full. Returns false (and drops nothing it accepted) when the
  // inbox was closed: the receiving task ended or was cancelled, or when `stop` was requested
  // while waiting for room (the batch is then not taken; for a sender being cancelled).
  bool Push(uint32_t channel, Batch batch, std::stop_token stop = {});
  // The upstream of `channel` sent its last batch.
  void EndChannel(uint32_t channel);
  // The next batch; blocks until one arrives. nullopt when every channel ended and everything
  // was popped, or after Close().
  std::optional<Batch> Pop();
  // The next batch or channel end, in the order they happened per channel; waits until
  // `deadline` at most.
  InboxItem Next(std::chrono::steady_clock::time_point deadline);
  // Wakes every waiter; later Push calls return false and Pop returns nullopt.
  void Close();
  // Barrier alignment: Next() holds back what `channel` sends (batches and its end) until
  // UnblockAll(); the channel keeps its own room, so the others go on.
  void Block(uint32_t channel);
  void UnblockAll();

  const TaskId& task() const;
  // How many channels feed this inbox; valid channel numbers are 0 .. channels() - 1.
  uint32_t channels() const;
  // For metrics: batches queued now, the capacity, and how long pushers waited in total.
  size_t queued() const;
  size_t capacity() const;
  std::chrono::nanoseconds blocked_time() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// A worker's inboxes by task id, so that channels (local or arriving over gRPC) find their
// receiver. One per worker process; thread-safe.
class Router {
 public:
  Router();
  ~Router();
  void Register(std::shared_ptr<Inbox> inbox);
  void Unregister(const TaskId& task);
  // Waits up to `timeout` for the task's inbox to be registered (its deployment may still be in
  // flight). NotFound naming the task when it does not appear.
  Result<std::shared_ptr<Inbox>> Find(const TaskId& task, std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The sending end of one channel. Created and used by the sending task's thread; Cancel() may
// be called from any thread and wakes a blocked Send.
class Sender {
 public:
  virtual ~Sender() = default;
  // Blocks while the receiver has no room (no credit). Errors name the receiving task and, for
  // a remote one, its worker's address.
  virtual Status Send(Batch batch) = 0;
  // Sends end-of-stream and waits until the receiver has it.
  virtual Status Finish() = 0;
  virtual void Cancel() = 0;
  // Bytes sent so far, for metrics.
  virtual uint64_t bytes_sent() const = 0;
};

// A channel to a task on this worker: pushes straight into its inbox.
Result<std::unique_ptr<Sender>> ConnectLocal(Router& router, const TaskId& receiver,
                                             uint32_t channel);

// A channel to a task on another worker, over that worker's ExchangeService with credit-based
// flow control: the receiver grants one credit per batch it accepted into the inbox, starting
// with its service's `initial_credits` (see exchange_service.h).
// `security` gives the cluster token the stream carries and TLS.
Result<std::unique_ptr<Sender>> ConnectRemote(const std::string& address, const TaskId& receiver,
                                              uint32_t channel,
                                              const ClusterSecurity& security = {});

}  // namespace sluice::exchange
