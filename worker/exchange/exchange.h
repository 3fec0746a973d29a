#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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

  // Whether it only moves its channel's watermark on (no records, idleness or barrier).
  bool time_only() const {
    return data.empty() && !idle && barrier == 0 && watermark.has_value();
  }
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

// The bytes a worker lets its tasks' inboxes hold, shared fairly: each task with an inbox gets
// min(`task_max_bytes`, `worker_bytes` / tasks), and each of its channels an equal part of that.
// A batch counts its data plus kBatchOverhead bytes (so batches that only carry time are
// bounded too). A channel with nothing queued takes one batch whatever its size, so the bound
// is exceeded by at most one batch a channel, and a channel can never stall for lack of room.
// Shared (shared_ptr) by the worker and its inboxes; thread-safe.
class InboxBudget {
 public:
  static constexpr size_t kBatchOverhead = 128;
  InboxBudget(size_t worker_bytes, size_t task_max_bytes);
  // What one task's inbox may hold now.
  size_t task_share() const;
  size_t worker_bytes() const { return worker_bytes_; }

 private:
  friend class Inbox;
  void Join();
  void Leave();
  const size_t worker_bytes_;
  const size_t task_max_bytes_;
  std::atomic<size_t> tasks_{0};
};

// Where a receiving task gets its input: every upstream channel (one per upstream subtask and
// input edge) pushes into the task's one inbox. Bounded per channel: in bytes, the task's share
// of an InboxBudget split between its channels, and/or in batches (the capacity given is
// shared out, at least 1 batch a channel); a channel with nothing queued always takes one batch.
// Push blocks while its channel's room is full, which is what slows producers down
// (backpressure), locally and, through credits (Offer), across workers.
// Created by the worker when it deploys the receiving task, shared with the router and the
// channels feeding it (shared_ptr); thread-safe.
class Inbox {
 public:
  // Room per channel: capacity_batches / channels batches (at least 1); no byte bound.
  Inbox(TaskId task, uint32_t channels, size_t capacity_batches);
  // Room per channel: budget->task_share() / channels bytes, recomputed as tasks come and go;
  // with `capacity_batches` > 0 also that many batches shared out as above.
  Inbox(TaskId task, uint32_t channels, std::shared_ptr<InboxBudget> budget,
        size_t capacity_batches = 0);
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Blocks while the inbox is full. Returns false (and drops nothing it accepted) when the
  // inbox was closed: the receiving task ended or was cancelled, or when `stop` was requested
  // while waiting for room (the batch is then not taken; for a sender being cancelled).
  // A batch that only moves time on (a watermark; no records, idleness or barrier) is folded
  // into its channel's last queued batch when that one only moves time on too (the later
  // watermark wins), and wakes a waiting Next only when that Next's deadline is more than 50 ms
  // away or a sender waits for room (the watermark may let its held channel go; a sender about
  // to wait wakes the reader itself): a task between batches sees it when it next looks
  // (InboxSource looks every 50 ms), instead of being woken for every step of an upstream
  // watermark.
  bool Push(uint32_t channel, Batch batch, std::stop_token stop = {});
  // For a channel arriving over a multiplexed connection, whose handler must never wait: takes
  // the batch at once, even beyond the channel's room (its sender held a credit for it), and
  // runs `room` once for it, without the inbox's lock: right away when the channel still has
  // room, else on the thread of the Next that makes room (or of Close). Returns false when the
  // inbox was closed (the batch is not taken, `room` not run).
  bool Offer(uint32_t channel, Batch batch, std::function<void()> room);
  // The upstream of `channel` sent its last batch.
  void EndChannel(uint32_t channel);
  // The next batch or channel end, in the order they happened per channel; waits until
  // `deadline` at most.
  InboxItem Next(std::chrono::steady_clock::time_point deadline);
  // Takes the batch Next() would hand out now when it only moves time on, without waiting;
  // nullopt (and nothing taken) otherwise: a reader folds a run of watermarks into one step.
  std::optional<Batch> TakeTimeOnly();
  // Wakes every waiter; later Push calls return false and Next returns kDone.
  void Close();
  // Barrier alignment: Next() holds back what `channel` sends (batches and its end) until
  // UnblockAll(); the channel keeps its own room, so the others go on.
  void Block(uint32_t channel);
  // Holds back a channel that ran ahead of the others (watermark alignment, InboxSource) as
  // Block does, and gives it a sixteenth of its room (at least one batch) until let go: barrier
  // alignment lets held channels go, and all a held channel queued would then enter the
  // receiver's state before the barrier, so its sender should stop a few batches ahead.
  void Hold(uint32_t channel);
  // Lets one channel's batches out again, with its whole room (after Block or Hold).
  void Unblock(uint32_t channel);
  void UnblockAll();

  const TaskId& task() const;
  // How many channels feed this inbox; valid channel numbers are 0 .. channels() - 1.
  uint32_t channels() const;
  // For metrics: batches and bytes queued now, the room in bytes (all channels; 0: no byte
  // bound), and how long pushers waited in total.
  size_t queued() const;
  size_t queued_bytes() const;
  size_t capacity_bytes() const;
  // The batch room (all channels); 0 when only bytes bound the inbox.
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
  // The task's inbox if it is registered now, else null; does not wait.
  std::shared_ptr<Inbox> Lookup(const TaskId& task);

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
  // Bytes handed to the transport so far, for metrics; all of them once Finish() returned.
  virtual uint64_t bytes_sent() const = 0;
};

// A channel to a task on this worker: pushes straight into its inbox.
Result<std::unique_ptr<Sender>> ConnectLocal(Router& router, const TaskId& receiver,
                                             uint32_t channel);

class PeerConnection;

// This worker's multiplexed connections to other workers: one ExchangeService Multiplex stream
// per peer address, opened on first use, carrying every channel this worker sends to that peer,
// with one writer and one reader thread per connection (not per channel). A broken connection
// fails its channels and is replaced by a new one for channels connected later. One per worker
// process (or per test); thread-safe. Channels keep their connection alive (shared_ptr), so
// this may go before them; Shutdown() (and the destructor) cut every connection.
class PeerConnections {
 public:
  // `security` gives the cluster token the streams carry and TLS.
  explicit PeerConnections(ClusterSecurity security = {});
  ~PeerConnections();
  PeerConnections(const PeerConnections&) = delete;
  PeerConnections& operator=(const PeerConnections&) = delete;

  // The connection to `address`: the open one, or a new one.
  std::shared_ptr<PeerConnection> Get(const std::string& address);
  void Shutdown();
  // Connections open now (not broken), for metrics and tests.
  size_t open() const;

 private:
  const ClusterSecurity security_;
  mutable std::mutex mutex_;
  bool shut_down_ = false;
  std::map<std::string, std::shared_ptr<PeerConnection>> connections_;
};

// A channel to a task on another worker, over the connection `peers` holds to that worker's
// ExchangeService, with credit-based flow control per channel: the receiver grants the
// service's `initial_credits` (see exchange_service.h), then one credit per batch it admitted
// into the inbox's room. Errors name the peer and the receiving task.
Result<std::unique_ptr<Sender>> ConnectRemote(PeerConnections& peers, const std::string& address,
                                              const TaskId& receiver, uint32_t channel);

}  // namespace sluice::exchange
