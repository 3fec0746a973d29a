#include "common/grpc_util.h"

#include <grpcpp/support/client_interceptor.h>

namespace sluice {
namespace {

// Adds the cluster token to the initial metadata of every call made on a channel.
class BearerInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(std::string value) : value_(std::move(value)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("authorization", value_);
    }
    methods->Proceed();
  }

 private:
  const std::string value_;  // "Bearer <token>"
};

class BearerInterceptorFactory final
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& token) : value_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(value_);
  }

 private:
  const std::string value_;
};

}  // namespace

grpc::Status ToGrpc(const Status& status) {
  if (status.ok()) return grpc::Status::OK;
  grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
  switch (status.code()) {
    case StatusCode::kOk:
      code = grpc::StatusCode::OK;
      break;
    case StatusCode::kInvalidArgument:
      code = grpc::StatusCode::INVALID_ARGUMENT;
      break;
    case StatusCode::kNotFound:
      code = grpc::StatusCode::NOT_FOUND;
      break;
    case StatusCode::kFailedPrecondition:
      code = grpc::StatusCode::FAILED_PRECONDITION;
      break;
    case StatusCode::kUnavailable:
      code = grpc::StatusCode::UNAVAILABLE;
      break;
    case StatusCode::kResourceExhausted:
      code = grpc::StatusCode::RESOURCE_EXHAUSTED;
      break;
    case StatusCode::kDeadlineExceeded:
      code = grpc::StatusCode::DEADLINE_EXCEEDED;
      break;
    case StatusCode::kCancelled:
      code = grpc::StatusCode::CANCELLED;
      break;
    case StatusCode::kInternal:
      code = grpc::StatusCode::INTERNAL;
      break;
    case StatusCode::kUnauthenticated:
      code = grpc::StatusCode::UNAUTHENTICATED;
      break;
  }
  return grpc::Status(code, status.message());
}

Status FromGrpc(const grpc::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Status::Unavailable("cannot reach " + what + ": " + status.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status(StatusCode::kDeadlineExceeded, ErrorDomain::kExternal,
                    what + " did not answer in time", true);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(status.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(status.error_message());
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(status.error_message());
    case grpc::StatusCode::CANCELLED:
      return Status::Cancelled(what + ": " + status.error_message());
    case grpc::StatusCode::RESOURCE_EXHAUSTED:  // a limit of the server's, e.g. the spec's size
      return Status(StatusCode::kResourceExhausted, ErrorDomain::kUser,
                    "RESOURCE_EXHAUSTED: " + status.error_message());
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::Unauthenticated(what + " refused the call: " + status.error_message());
    default:
      return Status::Internal(what + ": " + status.error_message());
  }
}

// HTTP/2 flow control per stream: an exchange batch is a few hundred KB, and with gRPC's
// default window (64 KB, grown slowly by its bandwidth probe) a sender stalled on window
// updates mid-batch. Our own credits (exchange_service.cc) bound what is in flight.
constexpr int kStreamWindowBytes = 8 * 1024 * 1024;

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const ClusterSecurity& security) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 5000);
  args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 256 * 1024 * 1024);
  args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 256 * 1024 * 1024);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (security.client_tls()) {
    grpc::SslCredentialsOptions tls;
    tls.pem_root_certs = security.ca_pem;
    credentials = grpc::SslCredentials(tls);
  }
  if (security.token.empty()) return grpc::CreateCustomChannel(address, credentials, args);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerInterceptorFactory>(security.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(address, credentials, args,
                                                                 std::move(interceptors));
}

Result<StartedServer> StartServer(const std::string& listen,
                                  const std::vector<grpc::Service*>& services,
                                  const std::string& who, const ClusterSecurity& security) {
  grpc::ServerBuilder builder;
  int port = 0;
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (security.server_tls()) {
    grpc::SslServerCredentialsOptions tls;
    tls.pem_key_cert_pairs.push_back({security.key_pem, security.cert_pem});
    credentials = grpc::SslServerCredentials(tls);
  }
  builder.AddListeningPort(listen, credentials, &port);
  builder.SetMaxReceiveMessageSize(256 * 1024 * 1024);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, kStreamWindowBytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  StartedServer started;
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || port == 0) {
    return Status::External(who + " cannot listen on " + listen + " (address in use or not valid)");
  }
  std::string host = listen.substr(0, listen.rfind(':'));
  if (host.empty() || host == "0.0.0.0" || host == "[::]") host = "127.0.0.1";
  started.address = host + ":" + std::to_string(port);
  started.port = port;
  return started;
}

grpc::Status CheckCaller(const grpc::ServerContext& context, const std::string& token,
                         const std::string& who) {
  if (token.empty()) return grpc::Status::OK;
  const auto& metadata = context.client_metadata();
  const auto found = metadata.find("authorization");
  if (found == metadata.end()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        who +
                            " requires the cluster's auth token and the call carried none "
                            "(give it with --auth-token-file or SLUICE_AUTH_TOKEN)");
  }
  const std::string_view value(found->second.data(), found->second.size());
  if (!TokenMatches(BearerToken(value), token)) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                        who +
                            " does not accept the auth token the call carried (not this "
                            "cluster's token)");
  }
  return grpc::Status::OK;
}

void SetDeadline(grpc::ClientContext& context, std::chrono::milliseconds timeout) {
  context.set_deadline(std::chrono::system_clock::now() + timeout);
}

}  // namespace sluice
