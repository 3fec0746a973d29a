#include "worker/io/io_kinds.h"

namespace sluice::runtime {

Status IoKinds::AddSource(const std::string& kind, SourceKind source) {
  if (!sources_.emplace(kind, std::move(source)).second) {
    return Status::Internal("source kind '" + kind + "' registered twice");
  }
  return Status::Ok();
}

Status IoKinds::AddSink(const std::string& kind, SinkKind sink) {
  if (!sinks_.emplace(kind, std::move(sink)).second) {
    return Status::Internal("sink kind '" + kind + "' registered twice");
  }
  return Status::Ok();
}

const SourceKind* IoKinds::source(const std::string& kind) const {
  auto it = sources_.find(kind);
  return it == sources_.end() ? nullptr : &it->second;
}

const SinkKind* IoKinds::sink(const std::string& kind) const {
  auto it = sinks_.find(kind);
  return it == sinks_.end() ? nullptr : &it->second;
}

std::vector<std::string> IoKinds::kinds() const {
  std::vector<std::string> out;
  for (const auto& [kind, _] : sources_) out.push_back(kind);
  for (const auto& [kind, _] : sinks_) out.push_back(kind);
  return out;
}

std::vector<js::StageSpec> SinkFunctionAsMapStage(
    const std::string& operator_id, const std::string& operator_name,
    const std::map<std::string, std::string>& functions) {
  auto fn = functions.find("fn");
  if (fn == functions.end()) return {};
  return {js::StageSpec{operator_id, operator_name, "map", "", {{"fn", fn->second}}}};
}

}  // namespace sluice::runtime
