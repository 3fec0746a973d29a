#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/job.pb.h"

namespace sluice::cli {

struct JobOverrides {
  uint32_t parallelism = 0;         // 0: keep the job's
  // "k=v": k must be one of the job's params; v is read as the type of its default.
  std::vector<std::string> params;
  std::string from_savepoint;       // a savepoint or checkpoint directory to start from
};

// Turns a job file into a JobSpec. A .json file is read as a JobSpec in protobuf's JSON
// mapping (what the SDK's toSpec() produces); anything else (.ts, .js, .mjs) is compiled by the
// SDK's job compiler under Node. Errors are one clear line naming the file. `interrupted`
// (polled) stops the compiler and its children: SIGINT or SIGTERM during a compile.
Result<proto::JobSpec> LoadJob(const std::string& path, const JobOverrides& overrides,
                               const std::function<bool()>& interrupted = {});

// Where the SDK lives: $SLUICE_SDK_DIR, else the sdk-ts folder of the source tree this binary
// was built from.
std::string SdkDir();

}  // namespace sluice::cli
