#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/etcd.grpc.pb.h"

namespace sluice::coordinator {

// A small client of etcd's v3 gRPC API (proto/sluice/etcd.proto): key ranges, transactions and
// leases, over one or more endpoints. A call that cannot reach an endpoint moves on to the next
// one; any other error is returned naming the endpoint. Thread-safe (one mutex around the choice
// of endpoint; calls run concurrently). Created once per coordinator by the binary's wiring
// code (`--ha etcd://host:port[,host:port...]`), owned by the EtcdJobStore.
class EtcdClient {
 public:
  // Parses "etcd://host:port[,host:port...]"; InvalidArgument naming the URL when it is not one.
  [[nodiscard]] static Result<std::unique_ptr<EtcdClient>> Create(const std::string& url);

  [[nodiscard]] Result<etcdserverpb::RangeResponse> Range(const std::string& key,
                                                           const std::string& range_end = "");
  [[nodiscard]] Result<etcdserverpb::TxnResponse> Txn(const etcdserverpb::TxnRequest& request);
  // A lease that expires `ttl_s` seconds after its last keep-alive; returns its id.
  [[nodiscard]] Result<int64_t> GrantLease(int64_t ttl_s);
  // One keep-alive; NotFound when the lease has expired (or was revoked).
  [[nodiscard]] Status KeepAlive(int64_t lease);
  [[nodiscard]] Status RevokeLease(int64_t lease);

  const std::string& url() const { return url_; }

  // The end of the range of every key starting with `prefix`.
  static std::string PrefixEnd(const std::string& prefix);

 private:
  explicit EtcdClient(std::string url, std::vector<std::string> endpoints);
  template <typename Call>
  Status WithEndpoint(Call call);

  std::string url_;
  std::vector<std::string> endpoints_;
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> kv_;
  std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>> lease_;
  std::mutex mutex_;
  size_t current_ = 0;  // under mutex_
};

}  // namespace sluice::coordinator
