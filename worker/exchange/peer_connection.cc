#include "worker/exchange/peer_connection.h"

#include "common/grpc_util.h"

namespace sluice::exchange {
namespace {

// The writer packs queued frames into messages of about this size (one larger batch goes alone).
constexpr size_t kMessageBytes = 4 * 1024 * 1024;

// A channel's failure from its receiver's gRPC status, naming peer and receiver (`what`).
Status ChannelStatus(const grpc::Status& status, const std::string& what,
                     const std::string& address) {
  if (status.error_code() == grpc::StatusCode::ABORTED) {
    // The receiving task ended or was cancelled.
    return Status(StatusCode::kFailedPrecondition, ErrorDomain::kInternal,
                  what + ": " + status.error_message(), true);
  }
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    // Not cancelled here (a cancelled channel answers before this): the peer cut the stream,
    // e.g. its worker is shutting down.
    return Status::Unavailable("cannot reach " + what +
                               ": the stream was cut: " + status.error_message());
  }
  Status converted = FromGrpc(status, what);
  if (converted.message().find(address) == std::string::npos) {
    converted = Status(converted.code(), converted.domain(), what + ": " + converted.message(),
                       converted.retryable());
  }
  return converted;
}

}  // namespace

PeerConnection::PeerConnection(std::string address, const ClusterSecurity& security)
    : address_(std::move(address)), security_(security) {}

PeerConnection::~PeerConnection() {
  Cut();
  if (reader_.joinable()) reader_.join();  // the reader joins the writer
}

void PeerConnection::Start() {
  stub_ = proto::ExchangeService::NewStub(MakeChannel(address_, security_));
  stream_ = stub_->Multiplex(&context_);
  writer_ = std::thread([this] { WriteQueued(); });
  reader_ = std::thread([this] { ReadReplies(); });
}

void PeerConnection::Cut() { context_.TryCancel(); }

bool PeerConnection::broken() const {
  std::lock_guard lock(mutex_);
  return broken_;
}

uint64_t PeerConnection::Open(const TaskId& receiver, uint32_t channel) {
  std::lock_guard lock(mutex_);
  const uint64_t id = next_id_++;
  auto state = std::make_shared<Channel>();
  state->receiver = receiver;
  state->what = "worker " + address_ + " for task " + receiver.str();
  if (broken_) {
    state->error = Status::Unavailable("cannot reach " + state->what + ": the connection broke");
  }
  channels_[id] = state;
  Outgoing open;
  open.frame.set_channel_id(id);
  open.frame.mutable_open()->set_task_id(receiver.str());
  open.frame.mutable_open()->set_channel(channel);
  Queue(std::move(open));
  return id;
}

Status PeerConnection::Send(uint64_t id, Batch batch) {
  std::unique_lock lock(mutex_);
  std::shared_ptr<Channel> channel = Find(id);
  if (channel == nullptr) return Status::Internal("send on an unknown channel");
  if (channel->finished) return Status::Internal(channel->what + ": Send after Finish");
  channel->changed.wait(lock, [&] {
    return channel->credits > 0 || channel->error.has_value() || channel->cancelled;
  });
  if (channel->cancelled) return Cancelled(*channel);
  if (channel->error.has_value()) return *channel->error;
  --channel->credits;
  Outgoing out;
  out.bytes = batch.data.size();
  out.channel = channel;
  out.frame.set_channel_id(id);
  proto::TransferBatch* message = out.frame.mutable_batch();
  message->set_data(std::move(batch.data));
  message->set_records(batch.records);
  if (batch.watermark.has_value()) message->set_watermark(*batch.watermark);
  message->set_idle(batch.idle);
  message->set_barrier(batch.barrier);
  Queue(std::move(out));
  return Status::Ok();
}

Status PeerConnection::Finish(uint64_t id) {
  std::unique_lock lock(mutex_);
  std::shared_ptr<Channel> channel = Find(id);
  if (channel == nullptr) return Status::Internal("finish on an unknown channel");
  if (channel->finished) return Status::Ok();
  if (channel->cancelled) return Cancelled(*channel);
  if (channel->error.has_value()) return *channel->error;
  Outgoing end;
  end.frame.set_channel_id(id);
  end.frame.mutable_end();
  Queue(std::move(end));
  channel->changed.wait(lock, [&] {
    return channel->end_acknowledged || channel->error.has_value() || channel->cancelled;
  });
  if (channel->cancelled) return Cancelled(*channel);
  if (channel->error.has_value()) return *channel->error;
  channel->finished = true;
  return Status::Ok();
}

void PeerConnection::Cancel(uint64_t id) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<Channel> channel = Find(id);
  if (channel == nullptr || channel->cancelled) return;
  channel->cancelled = true;
  channel->changed.notify_all();
  if (channel->finished || broken_) return;
  Outgoing reset;
  reset.frame.set_channel_id(id);
  reset.frame.mutable_reset();
  Queue(std::move(reset));
}

void PeerConnection::Close(uint64_t id) {
  std::lock_guard lock(mutex_);
  std::shared_ptr<Channel> channel = Find(id);
  if (channel == nullptr) return;
  if (!channel->finished && !channel->cancelled && !broken_) {
    Outgoing reset;
    reset.frame.set_channel_id(id);
    reset.frame.mutable_reset();
    Queue(std::move(reset));
  }
  channels_.erase(id);
}

uint64_t PeerConnection::bytes_sent(uint64_t id) const {
  std::lock_guard lock(mutex_);
  std::shared_ptr<Channel> channel = Find(id);
  return channel == nullptr ? 0 : channel->bytes_sent.load(std::memory_order_relaxed);
}

std::shared_ptr<PeerConnection::Channel> PeerConnection::Find(uint64_t id) const {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second;
}

void PeerConnection::Queue(Outgoing outgoing) {
  queue_.push_back(std::move(outgoing));
  queued_.notify_one();
}

Status PeerConnection::Cancelled(const Channel& channel) const {
  return Status::Cancelled("sending to " + channel.what + " was cancelled");
}

// The writer thread: what the senders queued, in order, packed into messages. Stops at the
// first failed write (the stream is broken; the reader reports why) and when told to.
void PeerConnection::WriteQueued() {
  while (true) {
    std::unique_lock lock(mutex_);
    queued_.wait(lock, [&] { return !queue_.empty() || stop_writer_; });
    if (stop_writer_) return;
    proto::MuxFrames message;
    std::vector<std::pair<std::shared_ptr<Channel>, size_t>> sent;
    size_t total = 0;
    while (!queue_.empty() &&
           (message.frames_size() == 0 || total + queue_.front().bytes <= kMessageBytes)) {
      Outgoing& out = queue_.front();
      total += out.bytes;
      if (out.channel != nullptr) sent.emplace_back(std::move(out.channel), out.bytes);
      *message.add_frames() = std::move(out.frame);
      queue_.pop_front();
    }
    lock.unlock();
    // Counted as they are handed to the stream, before the write: the receiver may acknowledge
    // an end frame of this message (and its Finish() return) before Write() returns here.
    for (auto& [channel, bytes] : sent) {
      channel->bytes_sent.fetch_add(bytes, std::memory_order_relaxed);
    }
    if (!stream_->Write(message)) {
      lock.lock();
      stop_writer_ = true;
      return;
    }
  }
}

// The reader thread: replies until the stream ends; then the writer stops and every channel
// still open fails with the stream's status.
void PeerConnection::ReadReplies() {
  proto::MuxReplies replies;
  while (stream_->Read(&replies)) {
    std::lock_guard lock(mutex_);
    for (const proto::MuxReply& reply : replies.replies()) Apply(reply);
  }
  {
    std::lock_guard lock(mutex_);
    stop_writer_ = true;
    broken_ = true;
  }
  queued_.notify_all();
  if (writer_.joinable()) writer_.join();
  grpc::Status status = stream_->Finish();
  std::lock_guard lock(mutex_);
  FailAll(status);
}

void PeerConnection::Apply(const proto::MuxReply& reply) {
  std::shared_ptr<Channel> channel = Find(reply.channel_id());
  if (channel == nullptr) return;  // closed here already
  channel->credits += reply.credits();
  if (reply.end_acknowledged()) channel->end_acknowledged = true;
  if (reply.error_code() != 0 && !channel->error.has_value()) {
    channel->error = ChannelStatus(
        grpc::Status(static_cast<grpc::StatusCode>(reply.error_code()), reply.error_message()),
        channel->what, address_);
  }
  channel->changed.notify_all();
}

void PeerConnection::FailAll(const grpc::Status& status) {
  for (auto& [id, channel] : channels_) {
    if (channel->error.has_value() || channel->finished) continue;
    grpc::Status why = status;
    if (why.ok()) why = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the stream ended");
    channel->error = ChannelStatus(why, channel->what, address_);
    channel->changed.notify_all();
  }
}

namespace {

// A channel on a PeerConnection. Used by the sending task's thread; Cancel() from any thread.
class MuxSender final : public Sender {
 public:
  MuxSender(std::shared_ptr<PeerConnection> connection, uint64_t id)
      : connection_(std::move(connection)), id_(id) {}
  ~MuxSender() override { connection_->Close(id_); }

  Status Send(Batch batch) override { return connection_->Send(id_, std::move(batch)); }
  Status Finish() override { return connection_->Finish(id_); }
  void Cancel() override { connection_->Cancel(id_); }
  uint64_t bytes_sent() const override { return connection_->bytes_sent(id_); }

 private:
  std::shared_ptr<PeerConnection> connection_;
  const uint64_t id_;
};

}  // namespace

PeerConnections::PeerConnections(ClusterSecurity security) : security_(std::move(security)) {}

PeerConnections::~PeerConnections() { Shutdown(); }

std::shared_ptr<PeerConnection> PeerConnections::Get(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = connections_.find(address);
  if (it != connections_.end() && !it->second->broken()) return it->second;
  auto connection = std::make_shared<PeerConnection>(address, security_);
  connection->Start();
  if (shut_down_) connection->Cut();
  connections_[address] = connection;
  return connection;
}

void PeerConnections::Shutdown() {
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  for (auto& [address, connection] : connections_) connection->Cut();
}

size_t PeerConnections::open() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [address, connection] : connections_) n += connection->broken() ? 0 : 1;
  return n;
}

Result<std::unique_ptr<Sender>> ConnectRemote(PeerConnections& peers, const std::string& address,
                                              const TaskId& receiver, uint32_t channel) {
  std::shared_ptr<PeerConnection> connection = peers.Get(address);
  const uint64_t id = connection->Open(receiver, channel);
  return std::unique_ptr<Sender>(std::make_unique<MuxSender>(std::move(connection), id));
}

}  // namespace sluice::exchange
