#include "worker/exchange/exchange_service.h"

#include <algorithm>
#include <deque>
#include <string>

#include "common/grpc_util.h"

namespace sluice::exchange {

// One Multiplex stream's channels and its replies. The stream's handler thread applies the
// frames; the writer thread (Run) writes the queued replies; inbox callbacks (credits, on task
// threads) and the opener thread (Attach) queue replies too. Shared (shared_ptr) so that an
// inbox's callback outliving the stream finds it gone (weak_ptr). Lock order: this mutex, then
// an inbox's (inboxes run callbacks without theirs, and Offer is called without this one).
class ExchangeServiceImpl::Incoming {
 public:
  Incoming(grpc::ServerReaderWriter<proto::MuxReplies, proto::MuxFrames>* stream,
           uint32_t initial_credits)
      : stream_(stream), initial_credits_(initial_credits) {}

  struct Channel {
    TaskId task;
    uint32_t channel = 0;
    std::shared_ptr<Inbox> inbox;  // null until the receiving task was found
    uint64_t outstanding = 0;      // credits the sender holds
    bool end_pending = false;      // the end came before the receiver was found
  };

  // Writes replies until Stop() or a failed write.
  void Run() {
    while (true) {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return !replies_.empty() || stopped_; });
      if (stopped_) return;
      proto::MuxReplies message;
      while (!replies_.empty()) {
        *message.add_replies() = std::move(replies_.front());
        replies_.pop_front();
      }
      lock.unlock();
      if (!stream_->Write(message)) return;
    }
  }

  void Stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

  // Returns the task to look for when the open has to wait for it; nullopt when done with.
  std::optional<TaskId> Open(uint64_t id, const proto::TransferOpen& open, Router& router) {
    {
      std::lock_guard lock(mutex_);
      if (channels_.contains(id)) {
        Error(id, grpc::StatusCode::INVALID_ARGUMENT,
              "channel id " + std::to_string(id) + " is already open on this stream");
        return std::nullopt;
      }
      channels_[id] = Channel{TaskId(open.task_id()), open.channel(), nullptr, 0, false};
    }
    std::shared_ptr<Inbox> inbox = router.Lookup(TaskId(open.task_id()));
    if (inbox == nullptr) return TaskId(open.task_id());
    Attach(id, std::move(inbox));
    return std::nullopt;
  }

  // The receiving task of channel `id` was found: grant the initial credits.
  void Attach(uint64_t id, std::shared_ptr<Inbox> inbox) {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(id);
    if (it == channels_.end() || it->second.inbox != nullptr) return;
    Channel& channel = it->second;
    if (channel.channel >= inbox->channels()) {
      Error(id, grpc::StatusCode::INVALID_ARGUMENT,
            "task " + channel.task.str() + " has " + std::to_string(inbox->channels()) +
                " input channels; channel " + std::to_string(channel.channel) +
                " does not exist");
      return;
    }
    channel.inbox = std::move(inbox);
    if (channel.end_pending) {
      End(id, channel);
      return;
    }
    channel.outstanding = initial_credits_;
    proto::MuxReply reply;
    reply.set_channel_id(id);
    reply.set_credits(initial_credits_);
    Queue(std::move(reply));
  }

  void NotFound(uint64_t id, const std::string& message) {
    std::lock_guard lock(mutex_);
    if (channels_.contains(id)) Error(id, grpc::StatusCode::NOT_FOUND, message);
  }

  void Batch(std::weak_ptr<Incoming> self, uint64_t id, proto::TransferBatch& message) {
    std::shared_ptr<Inbox> inbox;
    uint32_t number = 0;
    {
      std::lock_guard lock(mutex_);
      auto it = channels_.find(id);
      if (it == channels_.end()) return;  // reset or failed: what was in flight is dropped
      Channel& channel = it->second;
      if (channel.outstanding == 0) {
        Error(id, grpc::StatusCode::FAILED_PRECONDITION,
              "sender to task " + channel.task.str() + " sent a batch without credit");
        return;
      }
      --channel.outstanding;
      inbox = channel.inbox;
      number = channel.channel;
    }
    exchange::Batch batch;
    batch.records = message.records();
    batch.data = std::move(*message.mutable_data());
    if (message.has_watermark()) batch.watermark = message.watermark();
    batch.idle = message.idle();
    batch.barrier = message.barrier();
    auto credit = [self = std::move(self), id] {
      if (std::shared_ptr<Incoming> stream = self.lock()) stream->Credit(id);
    };
    if (!inbox->Offer(number, std::move(batch), std::move(credit))) {
      std::lock_guard lock(mutex_);
      if (channels_.contains(id)) {
        Error(id, grpc::StatusCode::ABORTED, "receiving task " + inbox->task().str() + " is gone");
      }
    }
  }

  void EndOf(uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(id);
    if (it == channels_.end()) return;
    if (it->second.inbox == nullptr) {
      it->second.end_pending = true;
      return;
    }
    End(id, it->second);
  }

  void Reset(uint64_t id) {
    std::lock_guard lock(mutex_);
    channels_.erase(id);
  }

 private:
  // The inbox admitted one of channel `id`'s batches: one more credit (any thread).
  void Credit(uint64_t id) {
    std::lock_guard lock(mutex_);
    auto it = channels_.find(id);
    if (it == channels_.end()) return;
    ++it->second.outstanding;
    // Coalesces with a credit for the same channel not written yet.
    if (!replies_.empty() && replies_.back().channel_id() == id &&
        !replies_.back().end_acknowledged() && replies_.back().error_code() == 0) {
      replies_.back().set_credits(replies_.back().credits() + 1);
      return;
    }
    proto::MuxReply reply;
    reply.set_channel_id(id);
    reply.set_credits(1);
    Queue(std::move(reply));
  }
  // These three under mutex_.
  void End(uint64_t id, Channel& channel) {
    channel.inbox->EndChannel(channel.channel);
    proto::MuxReply reply;
    reply.set_channel_id(id);
    reply.set_end_acknowledged(true);
    Queue(std::move(reply));
    channels_.erase(id);
  }
  void Error(uint64_t id, grpc::StatusCode code, const std::string& message) {
    proto::MuxReply reply;
    reply.set_channel_id(id);
    reply.set_error_code(static_cast<int32_t>(code));
    reply.set_error_message(message);
    Queue(std::move(reply));
    channels_.erase(id);
  }
  void Queue(proto::MuxReply reply) {
    replies_.push_back(std::move(reply));
    changed_.notify_all();
  }

  grpc::ServerReaderWriter<proto::MuxReplies, proto::MuxFrames>* const stream_;
  const uint32_t initial_credits_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<proto::MuxReply> replies_;
  std::map<uint64_t, Channel> channels_;
  bool stopped_ = false;
};

ExchangeServiceImpl::ExchangeServiceImpl(Router& router, ExchangeServiceOptions options)
    : router_(router), options_(options), opener_([this] { OpenLoop(); }) {}

ExchangeServiceImpl::~ExchangeServiceImpl() {
  Shutdown();
  if (opener_.joinable()) opener_.join();
}

void ExchangeServiceImpl::Shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (auto& [id, context] : streams_) context->TryCancel();  // wakes a handler in Read
  pending_changed_.notify_all();
}

size_t ExchangeServiceImpl::open_streams() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

void ExchangeServiceImpl::OpenLater(Pending pending) {
  std::lock_guard lock(mutex_);
  pending_.push_back(std::move(pending));
  pending_changed_.notify_all();
}

// The opener thread: looks for the receiving tasks of pending channels every few milliseconds
// (deployments in flight), attaches the found ones and fails the ones past their deadline.
void ExchangeServiceImpl::OpenLoop() {
  constexpr std::chrono::milliseconds kPoll{5};
  std::unique_lock lock(mutex_);
  while (true) {
    pending_changed_.wait(lock, [&] { return shut_down_ || !pending_.empty(); });
    if (shut_down_) return;
    std::vector<Pending> pending;
    pending.swap(pending_);
    lock.unlock();
    std::vector<Pending> waiting;
    const auto now = std::chrono::steady_clock::now();
    for (Pending& p : pending) {
      std::shared_ptr<Incoming> stream = p.stream.lock();
      if (stream == nullptr) continue;
      if (std::shared_ptr<Inbox> inbox = router_.Lookup(p.task); inbox != nullptr) {
        stream->Attach(p.id, std::move(inbox));
      } else if (now >= p.deadline) {
        stream->NotFound(p.id, "task " + p.task.str() + " is not deployed on this worker (waited " +
                                   std::to_string(options_.receiver_wait.count()) + " ms)");
      } else {
        waiting.push_back(std::move(p));
      }
    }
    lock.lock();
    for (Pending& p : waiting) pending_.push_back(std::move(p));
    if (!pending_.empty()) pending_changed_.wait_for(lock, kPoll, [&] { return shut_down_; });
  }
}

namespace {

// Enters a stream into the service's table for its lifetime, so Shutdown() can end it.
class Registration {
 public:
  Registration(std::mutex& mutex, std::map<uint64_t, grpc::ServerContext*>& streams,
               uint64_t& next, grpc::ServerContext* context)
      : mutex_(mutex), streams_(streams) {
    std::lock_guard lock(mutex_);
    id_ = next++;
    streams_[id_] = context;
  }
  ~Registration() {
    std::lock_guard lock(mutex_);
    streams_.erase(id_);
  }

 private:
  std::mutex& mutex_;
  std::map<uint64_t, grpc::ServerContext*>& streams_;
  uint64_t id_ = 0;
};

}  // namespace

grpc::Status ExchangeServiceImpl::Multiplex(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<proto::MuxReplies, proto::MuxFrames>* stream) {
  if (grpc::Status caller = CheckCaller(*context, options_.token, "worker exchange");
      !caller.ok()) {
    return caller;
  }
  Registration registration(mutex_, streams_, next_stream_, context);
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is shutting down");
    }
  }
  auto incoming = std::make_shared<Incoming>(stream, options_.initial_credits);
  std::thread writer([&incoming] { incoming->Run(); });
  proto::MuxFrames frames;
  while (stream->Read(&frames)) {
    for (proto::MuxFrame& frame : *frames.mutable_frames()) {
      const uint64_t id = frame.channel_id();
      switch (frame.kind_case()) {
        case proto::MuxFrame::kOpen:
          if (std::optional<TaskId> wait = incoming->Open(id, frame.open(), router_)) {
            OpenLater(Pending{incoming, id, std::move(*wait),
                              std::chrono::steady_clock::now() + options_.receiver_wait});
          }
          break;
        case proto::MuxFrame::kBatch: incoming->Batch(incoming, id, *frame.mutable_batch()); break;
        case proto::MuxFrame::kEnd: incoming->EndOf(id); break;
        case proto::MuxFrame::kReset: incoming->Reset(id); break;
        default: break;
      }
    }
  }
  // The sender left or the stream was cut. Its channels that did not end stay unended: the
  // receiver must not take a cut-off input for a complete one.
  incoming->Stop();
  writer.join();
  std::lock_guard lock(mutex_);
  if (shut_down_) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is shutting down");
  return grpc::Status(grpc::StatusCode::CANCELLED, "the sending worker left");
}

}  // namespace sluice::exchange
