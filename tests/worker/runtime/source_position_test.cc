// Source positions for checkpoints: a generated or file source restored at another parallelism
// emits every index exactly once over the old and the new subtasks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>

#include "tests/worker/runtime/fake_chain.h"
#include "tests/worker/runtime/feed.h"
#include "worker/runtime/index_share.h"
#include "worker/runtime/source_driver.h"

namespace sluice::runtime {
namespace {

using testing::FakeChain;

constexpr char kLabel[] = "operator 'gen' (op1)";

class SourcePositionTest : public ::testing::Test {
 protected:
  std::unique_ptr<SourceDriver> Make(const std::string& kind, const std::string& config,
                                     uint32_t subtask, uint32_t parallelism, int32_t batch_size,
                                     std::vector<std::string> positions = {}) {
    SourceContext context{kLabel, subtask, parallelism, &cancel_, batch_size};
    context.restore_positions = std::move(positions);
    auto driver = MakeSourceDriver(kind, config, context);
    EXPECT_TRUE(driver.ok()) << driver.status().message();
    return driver.ok() ? std::move(driver).value() : nullptr;
  }

  // Counts, per index, how often the chain was asked to generate it.
  static void CountGenerated(const FakeChain& chain, std::map<int64_t, int>* seen) {
    for (const auto& call : chain.generated) {
      for (int32_t k = 0; k < call.count; ++k) ++(*seen)[call.first + k * call.stride];
    }
  }

  // Runs `batches` Next() calls (all of them when negative); false once the source ended.
  static bool Run(SourceDriver& driver, FakeChain& chain, int batches) {
    testing::Feed feed(chain);
    for (int i = 0; batches < 0 || i < batches; ++i) {
      auto batch = feed.Next(driver);
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || !batch->has_value()) return false;
    }
    return true;
  }

  // A generator of `count` records runs through `parallelisms` in turn: at each but the last
  // it runs a few batches per subtask (as many as `batches` says, by subtask) and is
  // checkpointed; the next one is restored from those positions; the last runs to the end.
  // Returns how often each index was generated over all of them.
  std::map<int64_t, int> RunThrough(int64_t count, const std::vector<uint32_t>& parallelisms,
                                    const std::vector<std::vector<int>>& batches,
                                    const std::vector<int32_t>& batch_sizes) {
    const std::string config = R"({"count":)" + std::to_string(count) + "}";
    std::map<int64_t, int> seen;
    std::vector<std::string> positions;
    for (size_t round = 0; round < parallelisms.size(); ++round) {
      const bool last = round + 1 == parallelisms.size();
      std::vector<std::string> next_positions;
      for (uint32_t s = 0; s < parallelisms[round]; ++s) {
        auto driver = Make("source.generator", config, s, parallelisms[round],
                           batch_sizes[s % batch_sizes.size()], positions);
        if (driver == nullptr) return seen;
        FakeChain chain;
        Run(*driver, chain, last ? -1 : batches[round][s % batches[round].size()]);
        CountGenerated(chain, &seen);
        next_positions.push_back(driver->Position());
      }
      positions = std::move(next_positions);
    }
    return seen;
  }

  static void ExpectEachOnce(const std::map<int64_t, int>& seen, int64_t count) {
    ASSERT_EQ(seen.size(), static_cast<size_t>(count));
    for (const auto& [index, times] : seen) {
      ASSERT_GE(index, 0);
      ASSERT_LT(index, count);
      ASSERT_EQ(times, 1) << "index " << index;
    }
  }

  CancelSignal cancel_;
};

TEST_F(SourcePositionTest, GeneratorPositionSaysWhichIndexesWereEmitted) {
  auto driver = Make("source.generator", R"({"count":100})", 1, 3, 4);
  FakeChain chain;
  Run(*driver, chain, 2);  // 1, 4, ..., 22: next is 25
  EXPECT_EQ(nlohmann::json::parse(driver->Position()),
            nlohmann::json::parse(R"({"subtask":1,"parallelism":3,"next":25,"emitted":[]})"));
}

TEST_F(SourcePositionTest, GeneratorRestoredFromTwoSubtasksIntoThreeEmitsEveryIndexOnce) {
  // Subtask 0 ran 3 batches of 7 (up to 40), subtask 1 5 batches of 11 (up to 109): the
  // region between is irregular.
  auto seen = RunThrough(1000, {2, 3}, {{3, 5}}, {7, 11, 5});
  ExpectEachOnce(seen, 1000);
}

TEST_F(SourcePositionTest, GeneratorRestoredFromThreeSubtasksIntoTwoEmitsEveryIndexOnce) {
  auto seen = RunThrough(1000, {3, 2}, {{1, 6, 3}}, {13, 5, 8});
  ExpectEachOnce(seen, 1000);
}

TEST_F(SourcePositionTest, RestoredSubtaskSkipsWhatTheOldOnesEmittedInRuns) {
  // Old: 2 subtasks; subtask 0 emitted 0..18 (evens), subtask 1 emitted 1 only. New subtask 0
  // of 1 starts at 3 and skips the even indexes up to 18: runs of odd ones in between.
  std::vector<std::string> positions = {R"({"subtask":0,"parallelism":2,"next":20,"emitted":[]})",
                                        R"({"subtask":1,"parallelism":2,"next":3,"emitted":[]})"};
  auto driver = Make("source.generator", R"({"count":30})", 0, 1, 100, positions);
  FakeChain chain;
  Run(*driver, chain, -1);
  ASSERT_GE(chain.generated.size(), 2u);
  EXPECT_EQ(chain.generated.front().first, 3);
  EXPECT_EQ(chain.generated.front().count, 1);
  std::map<int64_t, int> seen;
  CountGenerated(chain, &seen);
  std::map<int64_t, int> expected;
  for (int64_t i = 3; i < 30; ++i) {
    if (i >= 20 || i % 2 == 1) expected[i] = 1;
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(chain.generated.back().first, 19);  // past the irregular region: one run
  EXPECT_EQ(chain.generated.back().count, 11);
}

TEST_F(SourcePositionTest, RepeatedRestoresAtRandomParallelismsEmitEveryIndexOnce) {
  std::mt19937 random(42);
  for (int trial = 0; trial < 40; ++trial) {
    const int64_t count = 200 + static_cast<int64_t>(random() % 600);
    std::vector<uint32_t> parallelisms;
    std::vector<std::vector<int>> batches;
    const int rounds = 2 + static_cast<int>(random() % 4);
    for (int r = 0; r < rounds; ++r) {
      parallelisms.push_back(1 + random() % 5);
      std::vector<int> per_subtask;
      for (int s = 0; s < 5; ++s) per_subtask.push_back(static_cast<int>(random() % 4));
      batches.push_back(per_subtask);
    }
    std::vector<int32_t> batch_sizes = {static_cast<int32_t>(1 + random() % 9),
                                        static_cast<int32_t>(1 + random() % 17),
                                        static_cast<int32_t>(1 + random() % 5)};
    auto seen = RunThrough(count, parallelisms, batches, batch_sizes);
    SCOPED_TRACE("trial " + std::to_string(trial));
    ExpectEachOnce(seen, count);
    if (HasFatalFailure()) return;
  }
}

TEST_F(SourcePositionTest, NexmarkRestoresLikeTheGenerator) {
  auto old0 = Make("source.nexmark", R"({"events":50})", 0, 2, 4);
  auto old1 = Make("source.nexmark", R"({"events":50})", 1, 2, 4);
  FakeChain chain0, chain1;
  Run(*old0, chain0, 1);
  Run(*old1, chain1, 3);
  std::map<int64_t, int> seen;
  CountGenerated(chain0, &seen);
  CountGenerated(chain1, &seen);
  for (uint32_t s = 0; s < 3; ++s) {
    auto driver =
        Make("source.nexmark", R"({"events":50})", s, 3, 4, {old0->Position(), old1->Position()});
    FakeChain chain;
    Run(*driver, chain, -1);
    CountGenerated(chain, &seen);
  }
  ExpectEachOnce(seen, 50);
}

TEST_F(SourcePositionTest, BadPositionsAreUserErrorsNamingTheOperator) {
  const std::string good = R"({"subtask":0,"parallelism":2,"next":4,"emitted":[]})";
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{good}, "not one from each subtask of a parallelism of 2"},
      {{good, good}, "not one from each subtask"},
      {{good, "{not json"}, "position 1 of the checkpoint is not a JSON object"},
      {{good, R"({"subtask":1,"parallelism":2})"}, "lacks a valid subtask, parallelism or next"},
      {{good, R"({"subtask":1,"parallelism":2,"next":5,"emitted":[[7,0,1]]})"},
       "bad emitted run [7,0,1]"},
  };
  for (const auto& [positions, message] : cases) {
    SourceContext context{kLabel, 0, 3, &cancel_};
    context.restore_positions = positions;
    auto driver = MakeSourceDriver("source.generator", R"({"count":10})", context);
    ASSERT_FALSE(driver.ok()) << message;
    EXPECT_EQ(driver.status().domain(), ErrorDomain::kUser);
    EXPECT_NE(driver.status().message().find(std::string(kLabel) +
                                             ": cannot restore the source's position: "),
              std::string::npos)
        << driver.status().message();
    EXPECT_NE(driver.status().message().find(message), std::string::npos)
        << driver.status().message();
  }
}

TEST(IndexShareTest, IntersectKeepsTheRunsIndexesOfAClassFromAnIndexOn) {
  using Run = IndexShare::Run;
  // 2, 5, 8, ..., 29 (stride 3) in class 1 mod 2: 5, 11, 17, 23, 29.
  Run run = IndexShare::Intersect(Run{2, 3, 10}, 1, 2, 0);
  EXPECT_EQ(run.first, 5);
  EXPECT_EQ(run.stride, 6);
  EXPECT_EQ(run.count, 5);
  // ... from 12 on: 17, 23, 29.
  run = IndexShare::Intersect(Run{2, 3, 10}, 1, 2, 12);
  EXPECT_EQ(run.first, 17);
  EXPECT_EQ(run.count, 3);
  // Stride 4 never meets class 1 mod 2.
  EXPECT_EQ(IndexShare::Intersect(Run{0, 4, 10}, 1, 2, 0).count, 0);
  // Past the run's end.
  EXPECT_EQ(IndexShare::Intersect(Run{0, 1, 10}, 0, 1, 10).count, 0);
}

class FilePositionTest : public SourcePositionTest {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("sluice_file_position_" + std::to_string(::getpid()) + ".txt");
    std::ofstream out(path_);
    for (int i = 0; i < kLines; ++i) out << "line" << i << "\n";
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::string Config() const { return R"({"path":")" + path_.string() + R"("})"; }

  static void CountLines(const FakeChain& chain, std::map<int64_t, int>* seen) {
    for (const std::string& text : chain.texts) {
      size_t start = 0;
      while (start < text.size()) {
        size_t end = text.find('\n', start);
        ++(*seen)[std::stoll(text.substr(start + 4, end - start - 4))];
        start = end + 1;
      }
    }
  }

  static constexpr int kLines = 500;
  std::filesystem::path path_;
};

TEST_F(FilePositionTest, FileRestoredFromTwoSubtasksIntoThreeReadsEveryLineOnce) {
  auto old0 = Make("source.file", Config(), 0, 2, 9);
  auto old1 = Make("source.file", Config(), 1, 2, 9);
  FakeChain chain0, chain1;
  Run(*old0, chain0, 2);
  Run(*old1, chain1, 5);
  // Subtask 1 read up to line 89 (45 lines of its own): its position says where, in bytes.
  auto position = nlohmann::json::parse(old1->Position());
  EXPECT_EQ(position["next"], 91);
  EXPECT_EQ(position["scan"][0], 90);
  EXPECT_EQ(position["scan"][1], 10 * 6 + 80 * 7);  // "lineN\n": 6 bytes below 10, then 7
  std::map<int64_t, int> seen;
  CountLines(chain0, &seen);
  CountLines(chain1, &seen);
  for (uint32_t s = 0; s < 3; ++s) {
    auto driver = Make("source.file", Config(), s, 3, 7, {old0->Position(), old1->Position()});
    FakeChain chain;
    Run(*driver, chain, -1);
    CountLines(chain, &seen);
  }
  ExpectEachOnce(seen, kLines);
}

TEST_F(FilePositionTest, FileRestoredFromThreeSubtasksIntoTwoReadsEveryLineOnce) {
  std::vector<std::string> positions;
  std::map<int64_t, int> seen;
  const int batches[] = {4, 1, 7};
  for (uint32_t s = 0; s < 3; ++s) {
    auto driver = Make("source.file", Config(), s, 3, 10);
    FakeChain chain;
    Run(*driver, chain, batches[s]);
    CountLines(chain, &seen);
    positions.push_back(driver->Position());
  }
  for (uint32_t s = 0; s < 2; ++s) {
    auto driver = Make("source.file", Config(), s, 2, 6, positions);
    FakeChain chain;
    Run(*driver, chain, -1);
    CountLines(chain, &seen);
  }
  ExpectEachOnce(seen, kLines);
}

}  // namespace
}  // namespace sluice::runtime
