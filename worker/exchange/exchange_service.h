#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <condition_variable>
#include <memory>
#include <thread>
#include <vector>

#include "sluice/exchange_service.grpc.pb.h"
#include "worker/exchange/exchange.h"

namespace sluice::exchange {

// How long a channel waits for its receiving task to be registered (its deployment may still be
// in flight) before failing with NotFound.
inline constexpr std::chrono::milliseconds kReceiverWait{10000};

struct ExchangeServiceOptions {
  // Batches a sender may send before the first one is accepted. The memory a stream holds on
  // the receiving side is bounded by these plus the inbox's capacity.
  uint32_t initial_credits = 4;
  std::chrono::milliseconds receiver_wait = kReceiverWait;
  // The cluster token every stream must carry ("": none checked).
  std::string token;
};

// The receiving end of remote channels: one Multiplex stream per sending worker, carrying all
// its channels to tasks here. A channel's open frame names its receiving task, found through the
// router (a deployment still in flight is waited for, up to `receiver_wait`, by the service's
// opener thread, without holding up the stream's other channels); then it is granted
// `initial_credits`. Each batch goes into the inbox at once (Inbox::Offer: the stream's handler
// never waits on one inbox), and its credit goes back when the inbox admitted it into the
// channel's room: while a task's inbox is full its senders wait for credit, the other channels
// on the stream go on (backpressure per channel across workers). A channel's failure (task not
// found, gone, no such channel, a batch without credit) is a reply for that channel only.
//
// Threads: gRPC runs each stream's handler (reading frames); each stream has a writer thread for
// the replies (credits come from the task threads that pop inboxes); one opener thread per
// service. One per worker process, registered on the worker's gRPC server. Owned by whoever
// wires the worker; must outlive the server it is registered on, and the router must outlive
// it. Shutdown() before the server's Shutdown() ends every open stream.
class ExchangeServiceImpl final : public proto::ExchangeService::Service {
 public:
  explicit ExchangeServiceImpl(Router& router, ExchangeServiceOptions options = {});
  ~ExchangeServiceImpl() override;

  grpc::Status Multiplex(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<proto::MuxReplies, proto::MuxFrames>* stream) override;

  // Ends open streams (their senders see Unavailable) and refuses new ones. Idempotent.
  void Shutdown();

  // Streams open now, for metrics and tests.
  size_t open_streams() const;

  class Incoming;  // one stream's channels (exchange_service.cc)

 private:
  // A channel whose receiving task is not registered yet.
  struct Pending {
    std::weak_ptr<Incoming> stream;
    uint64_t id = 0;
    TaskId task;
    std::chrono::steady_clock::time_point deadline;
  };
  void OpenLater(Pending pending);
  void OpenLoop();

  Router& router_;
  const ExchangeServiceOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable pending_changed_;
  bool shut_down_ = false;
  uint64_t next_stream_ = 0;
  std::map<uint64_t, grpc::ServerContext*> streams_;
  std::vector<Pending> pending_;
  std::thread opener_;
};

}  // namespace sluice::exchange
