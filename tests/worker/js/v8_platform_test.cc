// V8's worker pool (v8_platform.h): every isolate of the process shares it for TurboFan compiles
// and GC helpers, so it must not be V8's one thread on a 2-core machine.
#include <gtest/gtest.h>
#include <v8-platform.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "worker/js/v8_platform.h"

namespace sluice::js {
namespace {

class V8WorkerThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char *old = std::getenv("SLUICE_V8_THREADS")) saved_ = old;
    unsetenv("SLUICE_V8_THREADS");
  }
  void TearDown() override {
    if (saved_.empty()) unsetenv("SLUICE_V8_THREADS");
    else setenv("SLUICE_V8_THREADS", saved_.c_str(), 1);
  }
  std::string saved_;
};

TEST_F(V8WorkerThreadsTest, AtLeastFourThreadsOneBelowTheCores) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  const int threads = V8WorkerThreads();
  EXPECT_GE(threads, kMinV8WorkerThreads);
  EXPECT_GE(threads, std::min(cores - 1, kMaxV8WorkerThreads));
  EXPECT_LE(threads, kMaxV8WorkerThreads);
}

TEST_F(V8WorkerThreadsTest, TheEnvironmentChoosesWithinBounds) {
  setenv("SLUICE_V8_THREADS", "2", 1);
  EXPECT_EQ(V8WorkerThreads(), 2);
  setenv("SLUICE_V8_THREADS", "1000", 1);
  EXPECT_EQ(V8WorkerThreads(), kMaxV8WorkerThreads);
  setenv("SLUICE_V8_THREADS", "0", 1);  // not a pool size: the default
  EXPECT_GE(V8WorkerThreads(), kMinV8WorkerThreads);
  setenv("SLUICE_V8_THREADS", "many", 1);
  EXPECT_GE(V8WorkerThreads(), kMinV8WorkerThreads);
}

// The platform V8 runs on has that pool (V8's default would have cores - 1 threads).
TEST_F(V8WorkerThreadsTest, ThePlatformHasThePool) {
  EXPECT_EQ(V8Platform().NumberOfWorkerThreads(), V8WorkerThreads());
  EXPECT_GE(V8Platform().NumberOfWorkerThreads(), 4);  // as Node's default pool
}

// Sluice's own V8 flags come first, so that SLUICE_V8_FLAGS (profiling, experiments) can set
// any of them again: V8 takes the last value of a flag.
TEST(V8FlagsTest, SluicesFlagsThenTheEnvironments) {
  std::string saved;
  if (const char *old = std::getenv("SLUICE_V8_FLAGS")) saved = old;
  unsetenv("SLUICE_V8_FLAGS");
  EXPECT_EQ(V8Flags(), std::string(kV8Flags));
  EXPECT_NE(V8Flags().find("--max-inlined-bytecode-size-cumulative="), std::string::npos);
  setenv("SLUICE_V8_FLAGS", "--perf-basic-prof --max-inlined-bytecode-size-cumulative=920", 1);
  EXPECT_EQ(V8Flags(), std::string(kV8Flags) +
                           " --perf-basic-prof --max-inlined-bytecode-size-cumulative=920");
  if (saved.empty()) unsetenv("SLUICE_V8_FLAGS");
  else setenv("SLUICE_V8_FLAGS", saved.c_str(), 1);
}

}  // namespace
}  // namespace sluice::js
