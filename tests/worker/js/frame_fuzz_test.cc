// A seeded random mutator over the exchange's batch decoding: the bytes a receiving task gets
// from a peer (a columnar frame, DecodeColumnarFrame and runtime/codec.js, or JSON lines) go
// through RunText of a receiving chain. Whatever arrives, the chain answers with records or a
// clear error, never a crash, and keeps decoding good batches afterwards. Runs for
// SLUICE_FUZZ_SECONDS (default 3) from SLUICE_FUZZ_SEED (default fixed); a failure prints
// the seed, the iteration and the bytes.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::IsColumnar;
using testing::MustCreate;
using testing::Stage;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value == nullptr || *value == '\0' ? fallback : std::strtoull(value, nullptr, 10);
}

std::string Hex(const std::string& bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes.substr(0, 512)) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out + (bytes.size() > 512 ? "..." : "");
}

// Good batches as a sending chain encodes them: columnar frames of several shapes, and JSON
// lines.
std::vector<std::string> SeedFrames() {
  const char* records[] = {
      "[{a: 1, b: 'x'}, {a: 2, b: 'y'}, {a: 3.5, b: ''}]",
      "[{type: 'bid', price: 1.5, ch: 'Google', ok: true, none: null}, "
      "{type: 'bid', price: 2, ch: 'Baidu', ok: false, none: null}]",
      "[{s: '\\u65e5\\u672c\\ud83d\\ude00', n: -0, nested: {x: [1, {y: 'z'}]}}, "
      "{s: '\\u00e9', n: 1e300, nested: []}]",
      "[{'1': 'x', '0': 2, k: NaN}]",
      "[{a: 1}, [1, 2], 'text', 5, null]",  // no shared shape: JSON lines
  };
  std::vector<std::string> frames;
  for (const char* r : records) {
    ChainSpec chain = Chain({Stage("op1", "many", "flat_map", std::string("() => ") + r)},
                            OutputMode::kPartitioned);
    PartitionSpec edge;
    edge.partitioning = Partitioning::kBroadcast;
    edge.targets = 1;
    chain.outputs = {edge};
    auto sender = MustCreate(chain);
    if (sender == nullptr) return {};
    Result<BatchResult> batch = sender->RunText("x\n");
    EXPECT_TRUE(batch.ok()) << batch.status().message();
    if (!batch.ok()) return {};
    frames.push_back(batch->partitions[0][0]);
  }
  EXPECT_TRUE(IsColumnar(frames[0]));
  return frames;
}

class FrameMutator {
 public:
  explicit FrameMutator(uint64_t seed) : rng_(seed) {}
  size_t Below(size_t n) { return n == 0 ? 0 : std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::string Mutate(std::string bytes) {
    const size_t changes = 1 + Below(4);
    for (size_t i = 0; i < changes; ++i) {
      const size_t at = Below(bytes.size() + 1);
      switch (Below(7)) {
        case 0:
          if (at < bytes.size()) bytes[at] = static_cast<char>(bytes[at] ^ (1 << Below(8)));
          break;
        case 1: bytes.insert(at, 1 + Below(8), static_cast<char>(Below(256))); break;
        case 2: if (at < bytes.size()) bytes.erase(at, 1 + Below(16)); break;
        case 3: bytes.resize(Below(bytes.size() + 1)); break;
        case 4: {  // a 32-bit size field of the frame's header set to an extreme
          const size_t field = 4 + 4 * Below(4);
          if (field + 4 <= bytes.size()) {
            const uint32_t values[] = {0, 1, 0x7fffffff, 0xffffffff, 0x80000000,
                                       static_cast<uint32_t>(bytes.size())};
            const uint32_t v = values[Below(6)];
            for (int b = 0; b < 4; ++b) bytes[field + b] = static_cast<char>(v >> (8 * b));
          }
          break;
        }
        case 5:  // JSON-ish garbage
          bytes.insert(at, Below(2) ? "{\"a\":" : "\n[[[[\"\\ud800\n");
          break;
        default:
          if (at < bytes.size()) bytes[at] = static_cast<char>(Below(256));
          break;
      }
    }
    return bytes;
  }

 private:
  std::mt19937_64 rng_;
};

TEST(FrameFuzzTest, MutatedBatchesDecodeOrFailCleanlyAndTheChainGoesOn) {
  const uint64_t seed = EnvOr("SLUICE_FUZZ_SEED", 20261203);
  const auto budget = std::chrono::seconds(EnvOr("SLUICE_FUZZ_SECONDS", 3));
  const std::vector<std::string> seeds = SeedFrames();
  ASSERT_FALSE(seeds.empty());
  // Receivers as tasks have them: one that only parses, one with a map after the input.
  ChainSpec parse;
  parse.text_format = "json";
  parse.output = OutputMode::kJsonLines;
  ChainSpec mapped = Chain({Stage("op2", "touch", "map", "(r) => [r]")});
  mapped.text_format = "json";
  auto parser = MustCreate(parse);
  auto mapper = MustCreate(mapped);
  ASSERT_NE(parser, nullptr);
  ASSERT_NE(mapper, nullptr);
  FrameMutator mutator(seed);
  uint64_t iteration = 0, decoded = 0, refused = 0;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string& good = seeds[mutator.Below(seeds.size())];
    const std::string bytes = mutator.Mutate(good);
    ChainRunner& runner = mutator.Below(2) == 0 ? *parser : *mapper;
    Result<BatchResult> result = runner.RunText(bytes);
    if (result.ok()) {
      ++decoded;
    } else {
      ++refused;
      ASSERT_FALSE(result.status().message().empty())
          << "seed " << seed << " iteration " << iteration << " bytes " << Hex(bytes);
    }
    // The runner still decodes a good batch.
    Result<BatchResult> after = runner.RunText(good);
    ASSERT_TRUE(after.ok()) << "seed " << seed << " iteration " << iteration << ": "
                            << after.status().message() << "\nafter bytes " << Hex(bytes);
    ++iteration;
  }
  RecordProperty("iterations", std::to_string(iteration));
  EXPECT_GT(iteration, 50u);
  EXPECT_GT(refused, 0u) << "the mutator never made a bad batch";
}

}  // namespace
}  // namespace sluice::js
