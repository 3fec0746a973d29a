#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "worker/js/js_engine.h"

namespace sluice::js::testing {

// The documented hash (runtime/keys.js), written again for the tests: FNV-1a over a key
// string's UTF-16 code units, finished with murmur3's fmix32.
inline uint32_t KeyHash(std::u16string_view key) {
  uint32_t h = 0x811c9dc5u;
  for (char16_t unit : key) {
    h ^= unit;
    h *= 0x01000193u;
  }
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

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

// What the receiving side of an exchange reads from one partition (JSON lines or a columnar
// batch): its records as JSON lines, re-encoded by a chain that only parses (RunText of a
// "json" chain). "" for an empty partition; "<error: ...>" if it does not decode.
inline std::string Received(const std::string &partition) {
  if (partition.empty()) return "";
  ChainSpec chain;
  chain.text_format = "json";
  chain.output = OutputMode::kJsonLines;
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  if (!runner.ok()) return "<error: " + runner.status().message() + ">";
  Result<BatchResult> batch = (*runner)->RunText(partition);
  if (!batch.ok()) return "<error: " + batch.status().message() + ">";
  return batch->json_lines;
}

inline std::vector<std::string> Received(const std::vector<std::string> &partitions) {
  std::vector<std::string> out;
  for (const std::string &partition : partitions) out.push_back(Received(partition));
  return out;
}

// A runner for `chain` with default limits; a failed Create fails the test and returns null.
inline std::unique_ptr<ChainRunner> MustCreate(const ChainSpec &chain) {
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  EXPECT_TRUE(runner.ok()) << runner.status().message();
  return runner.ok() ? std::move(runner).value() : nullptr;
}

inline bool IsColumnar(const std::string &partition) {
  return !partition.empty() && partition[0] == '\x01';
}

}  // namespace sluice::js::testing
