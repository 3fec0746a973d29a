#pragma once

#include <string>
#include <utility>
#include <vector>

#include "worker/js/js_engine.h"

namespace sluice::js::testing {

inline StageSpec Stage(std::string id, std::string name, std::string kind, std::string fn = "",
                       std::string config = "") {
  StageSpec stage;
  stage.operator_id = std::move(id);
  stage.operator_name = std::move(name);
  stage.kind = std::move(kind);
  stage.config_json = std::move(config);
  if (!fn.empty()) stage.functions["fn"] = std::move(fn);
  return stage;
}

inline ChainSpec Chain(std::vector<StageSpec> stages, OutputMode output = OutputMode::kJsonLines,
                       std::string params = "{}") {
  ChainSpec chain;
  chain.stages = std::move(stages);
  chain.output = output;
  chain.params_json = std::move(params);
  return chain;
}

inline std::vector<std::string> Lines(const std::string &text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace sluice::js::testing
