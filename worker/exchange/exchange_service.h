#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <stop_token>

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

// The receiving end of remote channels: one Transfer stream per channel, pushing into the
// receiving task's inbox (found through the router) and granting one credit per batch the inbox
// accepted. While the inbox is full the stream's handler waits in Push and grants nothing, so
// the sender waits for credit: backpressure across workers.
//
// One per worker process, registered on the worker's gRPC server; gRPC's threads run the
// handlers (one thread per open stream). Owned by whoever wires the worker; must outlive the
// server it is registered on, and the router must outlive it. Shutdown() before the server's
// Shutdown() ends every open stream, even one whose handler waits for room in a full inbox.
// A sender that goes away while its handler waits in Push is noticed once that Push returns
// (room, inbox closed, or Shutdown); the batch it carried was sent and is delivered.
class ExchangeServiceImpl final : public proto::ExchangeService::Service {
 public:
  explicit ExchangeServiceImpl(Router& router, ExchangeServiceOptions options = {});
  ~ExchangeServiceImpl() override;

  grpc::Status Transfer(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<proto::TransferCredit, proto::TransferMessage>* stream) override;

  // Ends open streams (their senders see Unavailable) and refuses new ones. Idempotent.
  void Shutdown();

  // Streams open now, for metrics and tests.
  size_t open_streams() const;

 private:
  struct OpenStream {
    grpc::ServerContext* context;
    std::stop_source stop;
  };
  class Registration;

  Result<std::shared_ptr<Inbox>> FindReceiver(const TaskId& task, grpc::ServerContext& context,
                                              std::stop_token stop);

  Router& router_;
  const ExchangeServiceOptions options_;
  mutable std::mutex mutex_;
  bool shut_down_ = false;
  uint64_t next_stream_ = 0;
  std::map<uint64_t, OpenStream> streams_;
};

}  // namespace sluice::exchange
