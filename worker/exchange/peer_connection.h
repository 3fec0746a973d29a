#pragma once

#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "sluice/exchange_service.grpc.pb.h"
#include "worker/exchange/exchange.h"

namespace sluice::exchange {

// One Multiplex stream to another worker's ExchangeService, carrying every channel this worker
// sends there. Senders (task threads) queue frames; the writer thread, owned here, packs what is
// queued into one message and writes it while the tasks go on with their records; the reader
// thread takes the receiver's replies (credits, end acknowledgements, a channel's error) and
// wakes the channel's waiting sender. A sender takes a credit of its own channel before it
// queues a batch, so the queue never holds more of a channel's batches than the receiver
// granted: one slow receiver holds up only its own channels' senders.
//
// When the stream breaks (peer gone, Cut()), every channel still open fails with a status that
// names the peer and its receiving task; the connection is then `broken()` for good.
// Created by PeerConnections (make_shared, then Start()); shared by the channels that use it.
// The destructor cuts the stream and joins both threads. Thread-safe.
class PeerConnection {
 public:
  PeerConnection(std::string address, const ClusterSecurity& security);
  ~PeerConnection();
  PeerConnection(const PeerConnection&) = delete;
  PeerConnection& operator=(const PeerConnection&) = delete;

  void Start();
  // Ends the stream; every open channel fails (Unavailable, or Cancelled for cancelled ones).
  void Cut();
  bool broken() const;
  const std::string& address() const { return address_; }

  // A new channel to `receiver`'s input `channel`; its open frame is queued. Returns its id.
  uint64_t Open(const TaskId& receiver, uint32_t channel);
  // Waits for a credit of channel `id` and queues the batch. `what` names peer and receiver.
  Status Send(uint64_t id, Batch batch);
  // Queues the channel's end and waits for the receiver's acknowledgement; forgets the channel.
  Status Finish(uint64_t id);
  // Wakes a Send or Finish of the channel waiting; later calls return Cancelled. The receiver
  // is told to forget the channel without ending it.
  void Cancel(uint64_t id);
  // Forgets the channel; when it did not finish, the receiver is told to forget it too.
  void Close(uint64_t id);
  uint64_t bytes_sent(uint64_t id) const;

 private:
  struct Channel {
    TaskId receiver;
    std::string what;  // "worker <address> for task <receiver>", for errors
    uint64_t credits = 0;
    bool end_acknowledged = false;
    bool finished = false;
    bool cancelled = false;
    std::optional<Status> error;  // the receiver refused the channel, or the stream broke
    std::condition_variable changed;
    std::atomic<uint64_t> bytes_sent{0};
  };
  // A frame waiting for the writer.
  struct Outgoing {
    proto::MuxFrame frame;
    std::shared_ptr<Channel> channel;  // for bytes_sent; null for frames without data
    size_t bytes = 0;
  };

  void ReadReplies();
  void WriteQueued();
  // The reply of one channel, under mutex_.
  void Apply(const proto::MuxReply& reply);
  // The stream ended with `status`: every open channel fails. Under mutex_.
  void FailAll(const grpc::Status& status);
  std::shared_ptr<Channel> Find(uint64_t id) const;  // under mutex_
  void Queue(Outgoing outgoing);                      // under mutex_
  Status Cancelled(const Channel& channel) const;

  const std::string address_;
  const ClusterSecurity security_;
  std::unique_ptr<proto::ExchangeService::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<proto::MuxFrames, proto::MuxReplies>> stream_;
  std::thread reader_;
  std::thread writer_;

  mutable std::mutex mutex_;
  std::condition_variable queued_;  // for the writer: a frame was queued, or stop
  std::deque<Outgoing> queue_;
  std::map<uint64_t, std::shared_ptr<Channel>> channels_;
  uint64_t next_id_ = 1;
  bool stop_writer_ = false;
  bool broken_ = false;
};

}  // namespace sluice::exchange
