#pragma once

#include <optional>
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
    calls.push_back("generated");
    js::BatchResult result;
    result.records_in = result.records_out = static_cast<uint64_t>(count);
    return result;
  }
  Result<js::BatchResult> RunText(std::string_view text, uint32_t input = 0) override {
    texts.emplace_back(text);
    calls.push_back("text");
    inputs.push_back(input);
    js::BatchResult result;
    result.json_lines = std::string(text);
    for (char c : text) result.records_in += c == '\n' ? 1 : 0;
    result.records_out = result.records_in;
    return result;
  }
  Result<js::BatchResult> AdvanceTime(std::optional<int64_t> watermark, int64_t now_ms) override {
    advances.push_back(watermark);
    advance_times.push_back(now_ms);
    calls.push_back("advance");
    js::BatchResult result;
    if (watermark.has_value() && *watermark > last_watermark) {
      last_watermark = *watermark;
      result.watermark = watermark;
    }
    result.idle = next_idle;
    next_idle.reset();
    return result;
  }
  Status SnapshotState() override {
    ++snapshots;
    return Status::Ok();
  }
  void Interrupt() override {}

  std::vector<GeneratedCall> generated;
  std::vector<std::string> texts;
  std::vector<uint32_t> inputs;
  std::vector<std::optional<int64_t>> advances;  // AdvanceTime's watermarks, in order
  std::vector<int64_t> advance_times;            // and its processing times
  std::vector<std::string> calls;  // "generated", "text", "advance", in order
  std::optional<bool> next_idle;   // the next AdvanceTime reports this output idleness
  int64_t last_watermark = js::kMinWatermark;
  int snapshots = 0;  // SnapshotState calls
};

}  // namespace sluice::runtime::testing
