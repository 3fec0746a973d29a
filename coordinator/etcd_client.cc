#include "coordinator/etcd_client.h"

#include "common/grpc_util.h"

namespace sluice::coordinator {
namespace {

constexpr auto kCallTimeout = std::chrono::milliseconds(1500);

}  // namespace

Result<std::unique_ptr<EtcdClient>> EtcdClient::Create(const std::string& url) {
  const std::string scheme = "etcd://";
  if (url.rfind(scheme, 0) != 0) {
    return Status::InvalidArgument("--ha '" + url +
                                   "' is not an etcd URL (etcd://host:port[,host:port...])");
  }
  std::vector<std::string> endpoints;
  std::string rest = url.substr(scheme.size());
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string::npos) comma = rest.size();
    std::string endpoint = rest.substr(start, comma - start);
    if (!endpoint.empty()) {
      if (endpoint.find(':') == std::string::npos || endpoint.find('/') != std::string::npos) {
        return Status::InvalidArgument("--ha '" + url + "': endpoint '" + endpoint +
                                       "' is not host:port");
      }
      endpoints.push_back(endpoint);
    }
    start = comma + 1;
  }
  if (endpoints.empty()) return Status::InvalidArgument("--ha '" + url + "' names no endpoint");
  return std::unique_ptr<EtcdClient>(new EtcdClient(url, std::move(endpoints)));
}

EtcdClient::EtcdClient(std::string url, std::vector<std::string> endpoints)
    : url_(std::move(url)), endpoints_(std::move(endpoints)) {
  for (const auto& endpoint : endpoints_) {
    auto channel = MakeChannel(endpoint);
    kv_.push_back(etcdserverpb::KV::NewStub(channel));
    lease_.push_back(etcdserverpb::Lease::NewStub(channel));
  }
}

std::string EtcdClient::PrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) < 0xff) {
      end.back() = static_cast<char>(end.back() + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

template <typename Call>
Status EtcdClient::WithEndpoint(Call call) {
  size_t index = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    index = current_;
  }
  grpc::Status last;
  for (size_t tried = 0; tried < endpoints_.size(); ++tried) {
    const size_t i = (index + tried) % endpoints_.size();
    grpc::ClientContext context;
    SetDeadline(context, kCallTimeout);
    last = call(i, &context);
    if (last.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      current_ = i;
      return Status::Ok();
    }
    if (last.error_code() != grpc::StatusCode::UNAVAILABLE &&
        last.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      return FromGrpc(last, "etcd " + endpoints_[i]);
    }
  }
  return Status::Unavailable("cannot reach etcd at " + url_ + ": " + last.error_message());
}

Result<etcdserverpb::RangeResponse> EtcdClient::Range(const std::string& key,
                                                       const std::string& range_end) {
  etcdserverpb::RangeRequest request;
  request.set_key(key);
  request.set_range_end(range_end);
  etcdserverpb::RangeResponse response;
  SLUICE_RETURN_IF_ERROR(WithEndpoint([&](size_t i, grpc::ClientContext* context) {
    return kv_[i]->Range(context, request, &response);
  }));
  return response;
}

Result<etcdserverpb::TxnResponse> EtcdClient::Txn(const etcdserverpb::TxnRequest& request) {
  etcdserverpb::TxnResponse response;
  SLUICE_RETURN_IF_ERROR(WithEndpoint([&](size_t i, grpc::ClientContext* context) {
    return kv_[i]->Txn(context, request, &response);
  }));
  return response;
}

Result<int64_t> EtcdClient::GrantLease(int64_t ttl_s) {
  etcdserverpb::LeaseGrantRequest request;
  request.set_ttl(ttl_s);
  etcdserverpb::LeaseGrantResponse response;
  SLUICE_RETURN_IF_ERROR(WithEndpoint([&](size_t i, grpc::ClientContext* context) {
    return lease_[i]->LeaseGrant(context, request, &response);
  }));
  if (!response.error().empty()) {
    return Status::External("etcd at " + url_ + " grants no lease: " + response.error());
  }
  return response.id();
}

Status EtcdClient::KeepAlive(int64_t lease) {
  etcdserverpb::LeaseKeepAliveResponse response;
  SLUICE_RETURN_IF_ERROR(WithEndpoint([&](size_t i, grpc::ClientContext* context) {
    auto stream = lease_[i]->LeaseKeepAlive(context);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(lease);
    if (!stream->Write(request)) return stream->Finish();
    stream->WritesDone();
    if (!stream->Read(&response)) return stream->Finish();
    context->TryCancel();  // one round trip is all we want
    stream->Finish();
    return grpc::Status::OK;
  }));
  if (response.ttl() <= 0) {
    return Status::NotFound("the etcd lease " + std::to_string(lease) + " has expired");
  }
  return Status::Ok();
}

Status EtcdClient::RevokeLease(int64_t lease) {
  etcdserverpb::LeaseRevokeRequest request;
  request.set_id(lease);
  etcdserverpb::LeaseRevokeResponse response;
  return WithEndpoint([&](size_t i, grpc::ClientContext* context) {
    return lease_[i]->LeaseRevoke(context, request, &response);
  });
}

}  // namespace sluice::coordinator
