#include "worker/js/v8_code_cache.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::Stage;

TEST(CodeCacheTest, FindsCodeByNameAndWholeSource) {
  CodeCache cache;
  cache.Store("a", "1 + 1", "code-a");
  ASSERT_NE(cache.Find("a", "1 + 1"), nullptr);
  EXPECT_EQ(*cache.Find("a", "1 + 1"), "code-a");
  EXPECT_EQ(cache.Find("b", "1 + 1"), nullptr);  // another script name
  EXPECT_EQ(cache.Find("a", "1 + 2"), nullptr);  // same length, other source
  EXPECT_EQ(cache.found(), 2u);
  cache.Store("a", "1 + 1", "code-a2");  // replaced (after V8 rejected the old code)
  EXPECT_EQ(*cache.Find("a", "1 + 1"), "code-a2");
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.bytes(), std::string("a\0" "1 + 1", 7).size() + 7);
}

TEST(CodeCacheTest, KeepsWithinItsBytesOldestOut) {
  CodeCache cache(100);
  const std::string code(30, 'c');
  cache.Store("s", "one", code);  // 1 + 1 + 3 + 30 = 35 bytes each
  cache.Store("s", "two", code);
  std::shared_ptr<const std::string> held = cache.Find("s", "one");
  cache.Store("s", "six", code);  // 105 > 100: "one" goes
  EXPECT_EQ(cache.Find("s", "one"), nullptr);
  EXPECT_NE(cache.Find("s", "two"), nullptr);
  EXPECT_NE(cache.Find("s", "six"), nullptr);
  EXPECT_EQ(cache.bytes(), 70u);
  EXPECT_EQ(*held, code);  // what a compile holds stays valid
  cache.Store("s", "big", std::string(200, 'c'));  // larger than the whole cache: not kept
  EXPECT_EQ(cache.Find("s", "big"), nullptr);
  EXPECT_EQ(cache.entries(), 2u);
}

// A second runner of a chain compiles every script from the code the first one stored, V8
// accepts all of it, and the runner behaves the same: results, and errors with their lines.
TEST(CodeCacheTest, ASecondRunnerCompilesFromTheFirstOnesCode) {
  const ChainSpec chain = Chain({
      Stage("op1", "double", "map", "(r) => Number(r) * 2"),
      Stage("op2", "check", "map",
            "(r) => {\n  if (r > 10) throw new Error('big ' + r);\n  return r;\n}"),
  });
  CodeCache &cache = CodeCache::Process();
  std::string first_error;
  for (int i = 0; i < 2; ++i) {
    const size_t found = cache.found();
    const size_t rejected = cache.rejected();
    Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, {});
    ASSERT_TRUE(runner.ok()) << runner.status().message();
    if (i == 1) {
      EXPECT_GE(cache.found() - found, 5u);  // the functions, the runtime, the driver
      EXPECT_EQ(cache.rejected(), rejected);
    }
    Result<BatchResult> batch = (*runner)->RunText("1\n4\n");
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    EXPECT_EQ(batch->json_lines, "2\n8\n");
    Result<BatchResult> failed = (*runner)->RunText("6\n");
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.status().message().find("big 12 (line 2 of the function)"), std::string::npos)
        << failed.status().message();
    if (i == 0) {
      first_error = failed.status().message();
    } else {
      EXPECT_EQ(failed.status().message(), first_error);
    }
  }
}

}  // namespace
}  // namespace sluice::js
