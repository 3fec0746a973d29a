#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

namespace sluice::coordinator {

class CoordinatorNode;

// The gRPC adapters of the coordinator: JobService for clients, ClusterService for workers. They
// translate between gRPC and CoordinatorNode's calls and nothing else. Created by the node's
// Start() and owned by it; they must not outlive it. gRPC's handler threads call them.
std::unique_ptr<grpc::Service> MakeJobService(CoordinatorNode& node);
std::unique_ptr<grpc::Service> MakeClusterService(CoordinatorNode& node);

}  // namespace sluice::coordinator
