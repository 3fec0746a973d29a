#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "worker/io/source.h"

namespace sluice::runtime {

// Builds the driver for a `source.*` operator kind from its config (worker_io_kinds.h).
Result<std::unique_ptr<SourceDriver>> MakeSourceDriver(const std::string& kind,
                                                       const std::string& config_json,
                                                       const SourceContext& context);

// The text format a source hands to the chain ("lines" or "json"), for ChainSpec.
std::string SourceTextFormat(const std::string& kind, const std::string& config_json);

}  // namespace sluice::runtime
