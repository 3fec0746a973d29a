// The heap minimum, the ArrayBuffer budget, WebAssembly, the record size limit and the rule for
// values JSON cannot hold (worker/js/README.md, "Limits"; README.md, "Records are JSON").
#include <gtest/gtest.h>

#include <string>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::Stage;

Result<BatchResult> RunOnce(const std::string &fn, Limits limits = {},
                            OutputMode output = OutputMode::kJsonLines) {
  auto runner = V8Engine().Create(Chain({Stage("op1", "f", "map", fn)}, output), limits);
  if (!runner.ok()) return runner.status();
  return (*runner)->RunText("1\n");
}

TEST(MemoryLimitsTest, HeapBelowTheMinimumIsRefusedNotACrash) {
  for (uint32_t mb : {1u, 2u, kMinHeapLimitMb - 1}) {
    Limits limits;
    limits.heap_limit_mb = mb;
    auto runner = V8Engine().Create(Chain({Stage("op1", "f", "map", "(r) => r")}), limits);
    ASSERT_FALSE(runner.ok()) << mb;
    EXPECT_EQ(runner.status().domain(), ErrorDomain::kUser);
    EXPECT_NE(runner.status().message().find("a heap limit of " + std::to_string(mb) +
                                             " MB is below the 16 MB"),
              std::string::npos)
        << runner.status().message();
  }
  Limits smallest;
  smallest.heap_limit_mb = kMinHeapLimitMb;
  auto batch = RunOnce("(r) => ({ r })", smallest);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines, "{\"r\":\"1\"}\n");
}

TEST(MemoryLimitsTest, OneTypedArrayOverTheLimitFailsNamingTheOperator) {
  Limits limits;
  limits.heap_limit_mb = 32;
  auto batch = RunOnce("(r) => new Uint8Array(64 * 1024 * 1024).length", limits);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  const std::string &message = batch.status().message();
  EXPECT_EQ(message.rfind("operator 'f' (op1): RangeError", 0), 0u) << message;
  EXPECT_NE(message.find("may hold at most the heap limit, 32 MB"), std::string::npos) << message;
  EXPECT_NE(message.find("an allocation of 64 MB was refused"), std::string::npos) << message;
}

TEST(MemoryLimitsTest, TypedArraysKeptAcrossBatchesAddUp) {
  Limits limits;
  limits.heap_limit_mb = 32;
  auto runner = V8Engine().Create(
      Chain({Stage("op1", "keep", "map",
                   "(r) => { (globalThis.kept ||= []).push(new Float64Array(1024 * 1024)); "
                   "return globalThis.kept.length; }")}),
      limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Status failure;
  int batches = 0;
  for (; batches < 100 && failure.ok(); ++batches) failure = (*runner)->RunText("x\n").status();
  // 8 MB each: three fit; a fourth would take the whole 32 MB, and the runtime's own small
  // buffers (the driver's stats) count too.
  EXPECT_EQ(batches, 4);
  EXPECT_EQ(failure.code(), StatusCode::kResourceExhausted) << failure.message();
  EXPECT_NE(failure.message().find("operator 'keep' (op1)"), std::string::npos);
}

TEST(MemoryLimitsTest, ArrayBuffersThatDiedAreGivenBack) {
  Limits limits;
  limits.heap_limit_mb = 32;
  auto runner = V8Engine().Create(
      Chain({Stage("op1", "churn", "map", "(r) => new Uint8Array(8 * 1024 * 1024).length")}),
      limits);
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  for (int i = 0; i < 40; ++i) {
    auto batch = (*runner)->RunText("x\n");
    ASSERT_TRUE(batch.ok()) << i << ": " << batch.status().message();
  }
}

TEST(MemoryLimitsTest, UserFunctionsHaveNoWebAssembly) {
  auto batch = RunOnce("(r) => new WebAssembly.Memory({ initial: 1 }).buffer.byteLength");
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("operator 'f' (op1): ReferenceError: WebAssembly is not "
                                          "defined"),
            std::string::npos)
      << batch.status().message();
}

TEST(MemoryLimitsTest, ARecordOverTheRecordLimitFailsNamingTheOperator) {
  ChainSpec chain = Chain({Stage("op1", "big", "map", "(r) => 'x'.repeat(2000)")});
  chain.max_record_bytes = 1000;
  auto runner = V8Engine().Create(chain, Limits{});
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  auto batch = (*runner)->RunText("1\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("operator 'big' (op1): RangeError: an output record's "
                                          "JSON is 2002 characters long, over the cluster's limit "
                                          "of 1000 bytes"),
            std::string::npos)
      << batch.status().message();
}

TEST(HonestValuesTest, AnAsyncFunctionIsRefused) {
  auto runner = V8Engine().Create(Chain({Stage("op1", "f", "map", "async (r) => ({ d: 1 })")}), {});
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().message().rfind("operator 'f' (op1): its function is async", 0), 0u)
      << runner.status().message();
  EXPECT_FALSE(V8Engine().CheckFunction("async (r) => 1").ok());
  EXPECT_FALSE(V8Engine().CheckFunction(" /* c */ async function (r) { return r; }").ok());
  EXPECT_FALSE(V8Engine().CheckFunction("async r => r").ok());
  EXPECT_TRUE(V8Engine().CheckFunction("async => async + 1").ok());
  EXPECT_TRUE(V8Engine().CheckFunction("(asyncValue) => asyncValue").ok());
}

TEST(HonestValuesTest, APromiseOrAFunctionReturnedIsAnErrorNamingTheOperator) {
  for (const char *fn : {"(r) => Promise.resolve(r)", "(r) => (() => r)"}) {
    auto batch = RunOnce(fn);
    ASSERT_FALSE(batch.ok()) << fn;
    EXPECT_EQ(batch.status().message().rfind("operator 'f' (op1): TypeError: a ", 0), 0u)
        << batch.status().message();
    EXPECT_NE(batch.status().message().find("cannot be written as JSON"), std::string::npos);
  }
}

TEST(HonestValuesTest, NestedMapsSetsAndFunctionsAreErrorsNamingTheField) {
  const std::pair<const char *, const char *> cases[] = {
      {"(r) => ({ m: new Map([[1, 2]]) })", "a Map cannot be written as JSON (field 'm')"},
      {"(r) => ({ a: { s: new Set([1]) } })", "a Set cannot be written as JSON (field 's')"},
      {"(r) => ({ f() { return 1; } })", "a function cannot be written as JSON (field 'f')"},
      {"(r) => ({ p: [Promise.resolve(1)] })", "a Promise (async functions are not supported)"},
  };
  for (OutputMode mode : {OutputMode::kJsonLines, OutputMode::kPartitioned}) {
    for (const auto &[fn, expected] : cases) {
      ChainSpec chain = Chain({Stage("op1", "f", "map", fn)}, mode);
      if (mode == OutputMode::kPartitioned) chain.outputs = {PartitionSpec{}};
      auto runner = V8Engine().Create(chain, Limits{});
      ASSERT_TRUE(runner.ok()) << runner.status().message();
      auto batch = (*runner)->RunText("1\n");
      ASSERT_FALSE(batch.ok()) << fn;
      EXPECT_EQ(batch.status().message().rfind("operator 'f' (op1): TypeError: ", 0), 0u)
          << batch.status().message();
      EXPECT_NE(batch.status().message().find(expected), std::string::npos)
          << batch.status().message();
    }
  }
}

// The rule both ways out of a chain follow: JSON.stringify's. NaN and ±Infinity are null,
// undefined fields are left out.
TEST(HonestValuesTest, NaNInfinityAndUndefinedFollowJsonOnEveryPath) {
  const char *fn = "(r) => ({ a: NaN, b: undefined, c: -Infinity, d: 1, e: [undefined, NaN] })";
  auto lines = RunOnce(fn);
  ASSERT_TRUE(lines.ok()) << lines.status().message();
  const std::string expected = "{\"a\":null,\"c\":null,\"d\":1,\"e\":[null,null]}\n";
  EXPECT_EQ(lines->json_lines, expected);

  // Between tasks: a record with an undefined field goes as a JSON line, one without as a
  // columnar batch; the receiver gets the same either way.
  const char *no_undefined = "(r) => ({ a: NaN, c: -Infinity, d: 1, e: [undefined, NaN] })";
  for (const char *f : {fn, no_undefined}) {
    ChainSpec chain = Chain({Stage("op1", "f", "map", f)}, OutputMode::kPartitioned);
    chain.outputs = {PartitionSpec{}};
    auto runner = V8Engine().Create(chain, Limits{});
    ASSERT_TRUE(runner.ok()) << runner.status().message();
    auto batch = (*runner)->RunText("1\n2\n");
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    EXPECT_EQ(testing::IsColumnar(batch->partitions[0][0]), f == no_undefined);
    EXPECT_EQ(testing::Received(batch->partitions[0][0]), expected + expected);
  }
}

}  // namespace
}  // namespace sluice::js
