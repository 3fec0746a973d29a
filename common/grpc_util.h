#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"

namespace sluice {

// Converts between Sluice's Status and gRPC's at the service layer; nothing below it sees
// gRPC codes.
grpc::Status ToGrpc(const Status& status);

// `what` names the peer and the call for the message, e.g. "coordinator 127.0.0.1:7070".
Status FromGrpc(const grpc::Status& status, const std::string& what);

// A channel to host:port with keepalive settings suited to Sluice's long-lived streams.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// Sets a deadline `timeout` from now on a client context.
void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout);

}  // namespace sluice
