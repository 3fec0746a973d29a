#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/cluster_limits.h"
#include "sluice/job.pb.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator {

// What a job asks for beyond the cluster's maxima, or below what a task can start with
// (heapLimitMb, callTimeout, a file source's maxLineBytes): one problem each, naming the field
// and, for an operator's config, the operator. Empty: within the limits. Pure.
std::vector<proto::ValidationProblem> CheckClusterLimits(const proto::JobSpec& spec,
                                                         const ClusterLimits& limits);

// The files a job's file sinks write, as lexically normal absolute paths (a sink at
// parallelism P > 1 writes path.0 ... path.P-1), by path, with the sink's label. Pure.
std::map<std::string, std::string> OutputFiles(const proto::JobSpec& spec);

// "" when `spec` writes no file that `running` (the running job `running_id`) writes too; else
// why the new job is refused, naming both operators, the file and the other job.
std::string OutputConflict(const proto::JobSpec& spec, const proto::JobSpec& running,
                           const std::string& running_id);

}  // namespace sluice::coordinator
