#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "worker/io/sink.h"

namespace sluice::runtime {

// Builds the sink for a `sink.*` operator kind from its config.
Result<std::unique_ptr<BatchSink>> MakeSink(const std::string& kind, const std::string& config_json,
                                            const SinkContext& context);

// The JS stages that run a sink operator's own functions (Kafka's key, value, partition; the
// Redis command; the MySQL row) at the
// end of its chain, before its BatchSink gets the batch; empty for sinks without functions.
std::vector<js::StageSpec> SinkFunctionStages(const std::string& kind,
                                              const std::string& operator_id,
                                              const std::string& operator_name,
                                              const std::map<std::string, std::string>& functions);

}  // namespace sluice::runtime
