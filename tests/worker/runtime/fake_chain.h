#pragma once

#include <string>
#include <vector>

#include "worker/js/js_engine.h"

namespace sluice::runtime::testing {

// Records what a source driver asks of the chain; passes text through unchanged.
class FakeChain : public js::ChainRunner {
 public:
  struct GeneratedCall {
    int64_t first;
    int64_t stride;
    int32_t count;
  };

  Result<js::BatchResult> RunGenerated(int64_t first, int64_t stride, int32_t count) override {
    generated.push_back({first, stride, count});
    js::BatchResult result;
    result.records_in = result.records_out = static_cast<uint64_t>(count);
    return result;
  }
  Result<js::BatchResult> RunText(std::string_view text) override {
    texts.emplace_back(text);
    js::BatchResult result;
    result.json_lines = std::string(text);
    for (char c : text) result.records_in += c == '\n' ? 1 : 0;
    result.records_out = result.records_in;
    return result;
  }
  void Interrupt() override {}

  std::vector<GeneratedCall> generated;
  std::vector<std::string> texts;
};

}  // namespace sluice::runtime::testing
