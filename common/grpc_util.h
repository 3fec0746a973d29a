#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/auth.h"
#include "common/status.h"

namespace sluice {

// Converts between Sluice's Status and gRPC's at the service layer; nothing below it sees
// gRPC codes.
grpc::Status ToGrpc(const Status& status);

// `what` names the peer and the call for the message, e.g. "coordinator 127.0.0.1:7070".
Status FromGrpc(const grpc::Status& status, const std::string& what);

// A channel to host:port with keepalive settings suited to Sluice's long-lived streams. With
// `security.token`, every call on it carries `authorization: Bearer <token>`; with
// `security.ca_pem`, it speaks TLS and trusts only those roots.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ClusterSecurity& security = {});

// A started gRPC server and the address clients reach it at.
struct StartedServer {
  std::unique_ptr<grpc::Server> server;
  std::string address;  // host:port with the port actually bound (listen's port may be 0)
  int port = 0;         // the port actually bound
};

// Starts a server on `listen` (host:port; port 0 picks a free one) with `services`. `who`
// names the process for the error ("coordinator", "worker"). With `security.cert_pem` and
// `key_pem` it speaks TLS only. The token is not checked here: each handler calls
// CheckCaller (gRPC C++ has no server-side hook that can refuse a call on plaintext).
Result<StartedServer> StartServer(const std::string& listen,
                                  const std::vector<grpc::Service*>& services,
                                  const std::string& who, const ClusterSecurity& security = {});

// OK when the call carries `authorization: Bearer <token>` matching `token` (or `token` is
// empty); else UNAUTHENTICATED with a message saying what was missing or wrong. `who` names
// the serving process ("coordinator", "worker 127.0.0.1:4000").
grpc::Status CheckCaller(const grpc::ServerContext& context, const std::string& token,
                         const std::string& who);

// Sets a deadline `timeout` from now on a client context.
void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout);

}  // namespace sluice
