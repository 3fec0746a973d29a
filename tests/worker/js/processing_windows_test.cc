// Processing-time windows in a real isolate: a window reads the clock once a batch, so every
// record of one batch falls into the same window even when the batch outlasts it.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

// map (the record with `wait` spins 5 ms) -> keyBy(k) -> 2 ms processing-time windows counting.
ChainSpec SlowBatchIntoShortWindows() {
  StageSpec counts = testing::Stage(
      "op3", "counts", "window", "",
      R"({"assigner":{"type":"tumbling","size":2},"time":"processing","function":"count"})");
  ChainSpec chain = testing::Chain(
      {testing::Stage("op2", "slow", "map",
                      "(r) => { if (r.wait) { const t = Date.now(); while (Date.now() < t + 5) {} }"
                      " return r; }"),
       counts},
      OutputMode::kJsonLines);
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  chain.input_key_fns = {"(r) => r.k"};
  chain.keyed_input_in_chain = true;
  chain.max_parallelism = 128;
  return chain;
}

TEST(ProcessingWindowsTest, ABatchFallsIntoOneWindowEvenWhenItOutlastsIt) {
  std::unique_ptr<ChainRunner> runner = testing::MustCreate(SlowBatchIntoShortWindows());
  ASSERT_NE(runner, nullptr);
  // The spin puts 5 ms between the first and the last record: with the clock read per record
  // they would fall into two or three 2 ms windows.
  ASSERT_TRUE(runner->RunText("{\"k\":\"a\"}\n{\"k\":\"a\",\"wait\":true}\n{\"k\":\"a\"}\n").ok());
  // A processing time long after every window's end fires them all.
  Result<BatchResult> fired = runner->AdvanceTime(std::nullopt, int64_t{1} << 50);
  ASSERT_TRUE(fired.ok()) << fired.status().message();
  const std::string &out = fired->json_lines;
  EXPECT_NE(out.find("\"value\":3}"), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  // Each batch reads the clock again: the second one's, read after its spin, is in a later window.
  ASSERT_TRUE(runner->RunText("{\"k\":\"a\"}\n").ok());
  ASSERT_TRUE(runner->RunText("{\"k\":\"a\",\"wait\":true}\n").ok());
  Result<BatchResult> later = runner->AdvanceTime(std::nullopt, int64_t{1} << 50);
  ASSERT_TRUE(later.ok()) << later.status().message();
  EXPECT_EQ(std::count(later->json_lines.begin(), later->json_lines.end(), '\n'), 2)
      << later->json_lines;
}

}  // namespace
}  // namespace sluice::js
