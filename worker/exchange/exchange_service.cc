#include "worker/exchange/exchange_service.h"

#include <algorithm>
#include <string>

#include "common/grpc_util.h"

namespace sluice::exchange {

// Enters a stream into the service's table for its lifetime, so Shutdown() can end it.
class ExchangeServiceImpl::Registration {
 public:
  Registration(ExchangeServiceImpl& service, grpc::ServerContext* context) : service_(service) {
    std::lock_guard lock(service_.mutex_);
    id_ = service_.next_stream_++;
    OpenStream& open = service_.streams_[id_];
    open.context = context;
    stop_ = open.stop.get_token();
    if (service_.shut_down_) open.stop.request_stop();
  }
  ~Registration() {
    std::lock_guard lock(service_.mutex_);
    service_.streams_.erase(id_);
  }
  std::stop_token stop() const { return stop_; }

 private:
  ExchangeServiceImpl& service_;
  uint64_t id_ = 0;
  std::stop_token stop_;
};

namespace {

grpc::Status ShuttingDown() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, "worker is shutting down");
}

proto::TransferCredit Credits(uint32_t n) {
  proto::TransferCredit credit;
  credit.set_credits(n);
  return credit;
}

}  // namespace

ExchangeServiceImpl::ExchangeServiceImpl(Router& router, ExchangeServiceOptions options)
    : router_(router), options_(options) {}

ExchangeServiceImpl::~ExchangeServiceImpl() { Shutdown(); }

void ExchangeServiceImpl::Shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (auto& [id, open] : streams_) {
    open.stop.request_stop();   // wakes a handler waiting for room in an inbox
    open.context->TryCancel();  // wakes a handler waiting in Read or Write
  }
}

size_t ExchangeServiceImpl::open_streams() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

Result<std::shared_ptr<Inbox>> ExchangeServiceImpl::FindReceiver(const TaskId& task,
                                                                 grpc::ServerContext& context,
                                                                 std::stop_token stop) {
  // Router::Find cannot be interrupted, so wait in slices and look for a gone sender or a
  // shutdown in between; this wait happens once per stream.
  constexpr std::chrono::milliseconds kSlice{100};
  auto deadline = std::chrono::steady_clock::now() + options_.receiver_wait;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    Result<std::shared_ptr<Inbox>> inbox =
        router_.Find(task, std::clamp(left, std::chrono::milliseconds(0), kSlice));
    if (inbox.ok()) return inbox;
    if (stop.stop_requested() || context.IsCancelled()) {
      return Status::Cancelled("stream ended while waiting for task " + task.str());
    }
    if (left <= kSlice) {
      return Status::NotFound("task " + task.str() + " is not deployed on this worker (waited " +
                              std::to_string(options_.receiver_wait.count()) + " ms)");
    }
  }
}

grpc::Status ExchangeServiceImpl::Transfer(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<proto::TransferCredit, proto::TransferMessage>* stream) {
  if (grpc::Status caller = CheckCaller(*context, options_.token, "worker exchange");
      !caller.ok()) {
    return caller;
  }
  Registration registration(*this, context);
  std::stop_token stop = registration.stop();
  if (stop.stop_requested()) return ShuttingDown();

  proto::TransferMessage message;
  if (!stream->Read(&message)) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "sender left before opening the channel");
  }
  if (!message.has_open()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "the first message of a transfer must open the channel");
  }
  const TaskId task(message.open().task_id());
  const uint32_t channel = message.open().channel();
  Result<std::shared_ptr<Inbox>> found = FindReceiver(task, *context, stop);
  if (!found.ok()) {
    if (stop.stop_requested()) return ShuttingDown();
    return ToGrpc(found.status());
  }
  Inbox& inbox = **found;
  if (channel >= inbox.channels()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "task " + task.str() + " has " + std::to_string(inbox.channels()) +
                            " input channels; channel " + std::to_string(channel) +
                            " does not exist");
  }

  // Credits the sender holds; a batch beyond them is a protocol violation.
  uint64_t outstanding = options_.initial_credits;
  if (!stream->Write(Credits(options_.initial_credits))) {
    return stop.stop_requested() ? ShuttingDown()
                                 : grpc::Status(grpc::StatusCode::CANCELLED, "sender left");
  }
  while (stream->Read(&message)) {
    if (message.has_end()) {
      inbox.EndChannel(channel);
      proto::TransferCredit ack;
      ack.set_end_acknowledged(true);
      stream->Write(ack);
      return grpc::Status::OK;
    }
    if (!message.has_batch()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a channel can be opened only once per stream");
    }
    if (outstanding == 0) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                          "sender to task " + task.str() + " sent a batch without credit");
    }
    --outstanding;
    Batch batch;
    batch.records = message.batch().records();
    batch.data = std::move(*message.mutable_batch()->mutable_data());
    if (message.batch().has_watermark()) batch.watermark = message.batch().watermark();
    batch.idle = message.batch().idle();
    batch.barrier = message.batch().barrier();
    if (!inbox.Push(channel, std::move(batch), stop)) {
      if (stop.stop_requested()) return ShuttingDown();
      return grpc::Status(grpc::StatusCode::ABORTED, "receiving task " + task.str() + " is gone");
    }
    ++outstanding;
    if (!stream->Write(Credits(1))) break;
  }
  if (stop.stop_requested()) return ShuttingDown();
  // Not ending the channel: the receiver must not take a cut-off stream for a finished one.
  return grpc::Status(grpc::StatusCode::CANCELLED,
                      "sender to task " + task.str() + " left before the end of the stream");
}

}  // namespace sluice::exchange
