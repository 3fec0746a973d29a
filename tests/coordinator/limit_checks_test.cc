#include "coordinator/limit_checks.h"

#include <gtest/gtest.h>

#include "tests/coordinator/spec_builder.h"

namespace sluice::coordinator {
namespace {

using testing::SpecBuilder;

proto::JobSpec FileJob(const std::string& name, const std::string& out, uint32_t parallelism = 0) {
  return SpecBuilder(name)
      .Op("op1", "in", "source.file", R"({"path":"/data/in.txt","maxLineBytes":100})")
      .Op("op2", "out", "sink.file", R"({"path":")" + out + R"("})", {}, parallelism)
      .Edge("op1", "op2")
      .Build();
}

TEST(LimitChecksTest, AJobWithinTheLimitsHasNoProblems) {
  EXPECT_TRUE(CheckClusterLimits(FileJob("j", "/data/out"), ClusterLimits{}).empty());
}

TEST(LimitChecksTest, HeapCallTimeAndLineLengthOverTheMaximaAreNamed) {
  proto::JobSpec spec = FileJob("big", "/data/out");
  spec.set_heap_limit_mb(1000000);
  spec.set_call_timeout_ms(3600000);
  ClusterLimits limits;
  limits.max_line_bytes = 50;
  auto problems = CheckClusterLimits(spec, limits);
  ASSERT_EQ(problems.size(), 3u);
  EXPECT_EQ(problems[0].message(),
            "job 'big': heapLimitMb 1000000 is above the cluster's maximum of 4096 MB "
            "(--max-heap-mb)");
  EXPECT_EQ(problems[1].message(),
            "job 'big': callTimeout 3600000 ms is above the cluster's maximum of 600000 ms "
            "(--max-call-timeout-ms)");
  EXPECT_EQ(problems[2].operator_id(), "op1");
  EXPECT_EQ(problems[2].message(),
            "operator 'in' (op1): config field \"maxLineBytes\" 100 is above the cluster's "
            "maximum line length of 50 bytes (--max-line-bytes)");
}

TEST(LimitChecksTest, AHeapBelowWhatAnIsolateNeedsIsRefused) {
  for (uint32_t mb : {1u, 2u, 15u}) {
    proto::JobSpec spec = FileJob("tiny", "/data/out");
    spec.set_heap_limit_mb(mb);
    auto problems = CheckClusterLimits(spec, ClusterLimits{});
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].message(), "job 'tiny': heapLimitMb " + std::to_string(mb) +
                                         " is below the 16 MB a task's JS isolate needs");
  }
}

TEST(LimitChecksTest, TwoJobsCannotClaimOneOutputFile) {
  EXPECT_EQ(OutputConflict(FileJob("a", "/data/out"), FileJob("b", "/data/other"), "job-1"), "");
  EXPECT_EQ(OutputConflict(FileJob("a", "/data/x/../out"), FileJob("b", "/data/out"), "job-1"),
            "operator 'out' (op2): output file '/data/out' is written by running job job-1 'b' "
            "(operator 'out' (op2)); two jobs writing one file would interleave or lose records");
  // At parallelism 2 the sink writes out.0 and out.1.
  EXPECT_NE(OutputConflict(FileJob("a", "/data/out.1"), FileJob("b", "/data/out", 2), "job-1"),
            "");
  EXPECT_EQ(OutputConflict(FileJob("a", "/data/out.2"), FileJob("b", "/data/out", 2), "job-1"),
            "");
}

}  // namespace
}  // namespace sluice::coordinator
