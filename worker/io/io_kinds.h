#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/operator_kinds.h"
#include "common/status.h"
#include "worker/io/sink.h"
#include "worker/io/source.h"
#include "worker/js/js_engine.h"

namespace sluice::runtime {

// How a worker builds a `source.*` operator kind, and (`checks`) how the coordinator checks
// its config and functions at submit: one entry per kind.
struct SourceKind {
  std::function<Result<std::unique_ptr<SourceDriver>>(const std::string& config_json,
                                                      const SourceContext& context)>
      make;
  // The text format the source hands to the chain ("lines" or "json"), for ChainSpec.
  std::function<std::string(const std::string& config_json)> text_format;
  IoKindChecks checks;
};

// How a worker builds a `sink.*` operator kind, and (`checks`) how the coordinator checks its
// config and functions at submit: one entry per kind.
struct SinkKind {
  std::function<Result<std::unique_ptr<BatchSink>>(const std::string& config_json,
                                                   const SinkContext& context)>
      make;
  // The JS stages that run the sink operator's own functions at the end of its chain, before
  // the sink gets the batch (Kafka's key, value and partition; the Redis command; the MySQL
  // row); unset: the sink has no functions.
  std::function<std::vector<js::StageSpec>(const std::string& operator_id,
                                           const std::string& operator_name,
                                           const std::map<std::string, std::string>& functions)>
      function_stages;
  IoKindChecks checks;
};

// The worker's sources and sinks by operator kind: the built-in ones and each connector's,
// which register themselves (a connector library has a Register<Name>(IoKinds&)). Filled once
// per process (worker/runtime/worker_io_kinds.h), then read-only: any thread may read it.
class IoKinds {
 public:
  // A kind registered twice is a programming error: the second registration is refused.
  Status AddSource(const std::string& kind, SourceKind source);
  Status AddSink(const std::string& kind, SinkKind sink);
  const SourceKind* source(const std::string& kind) const;
  const SinkKind* sink(const std::string& kind) const;
  std::vector<std::string> kinds() const;

 private:
  std::map<std::string, SourceKind> sources_;
  std::map<std::string, SinkKind> sinks_;
};

// A sink's single function `fn` (a Redis command, a MySQL row) as a map stage named after the
// sink: the sink receives what it returned, and its errors name the sink.
std::vector<js::StageSpec> SinkFunctionAsMapStage(
    const std::string& operator_id, const std::string& operator_name,
    const std::map<std::string, std::string>& functions);

}  // namespace sluice::runtime
