#include "worker/runtime/source_driver.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>


namespace sluice::runtime {
namespace {

class SourceDriverTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("sluice_source_test_" + std::to_string(::getpid()) + ".txt");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  // Drains the driver — no chain, no V8: a source only hands InputBatches on — into
  // `batches`; returns every text batch's records joined.
  std::string Drain(SourceDriver& driver) {
    std::string all;
    batches.clear();
    while (true) {
      auto batch = driver.Next();
      EXPECT_TRUE(batch.ok()) << batch.status().message();
      if (!batch.ok() || batch->end) break;
      EXPECT_FALSE(batch->watermark.has_value());  // built-in sources leave time to the chain
      EXPECT_TRUE(batch->event_times.empty());
      all += batch->text;
      if (batch->has_records()) batches.push_back(std::move(batch).value());
    }
    return all;
  }

  std::vector<InputBatch> batches;  // the last Drain()'s, those with records

  CancelSignal cancel_;
  std::filesystem::path path_;
};

TEST_F(SourceDriverTest, FileSourceSplitsLinesAcrossSubtasksByIndex) {
  std::string path = WriteFile("l0\nl1\nl2\nl3\nl4");  // no final newline
  for (uint32_t subtask = 0; subtask < 2; ++subtask) {
    SourceContext context{"operator 'src' (op1)", subtask, 2, &cancel_};
    auto driver = MakeSourceDriver("source.file", R"({"path":")" + path + R"("})", context);
    ASSERT_TRUE(driver.ok()) << driver.status().message();
    std::string got = Drain(**driver);
    EXPECT_EQ(got, subtask == 0 ? "l0\nl2\nl4\n" : "l1\nl3\n");
  }
}

TEST_F(SourceDriverTest, FileSourceBatchesAtTheBatchSize) {
  std::string text;
  for (int i = 0; i < 10; ++i) text += "line" + std::to_string(i) + "\n";
  std::string path = WriteFile(text);
  SourceContext context{"operator 'src' (op1)", 0, 1, &cancel_, /*batch_size=*/4};
  auto driver = MakeSourceDriver("source.file", R"({"path":")" + path + R"("})", context);
  ASSERT_TRUE(driver.ok());
  EXPECT_EQ(Drain(**driver), text);
  ASSERT_EQ(batches.size(), 3u);  // 4 + 4 + 2 lines
  EXPECT_EQ(batches[2].text, "line8\nline9\n");
  EXPECT_FALSE(batches[2].generated.has_value());
}

TEST_F(SourceDriverTest, MissingFileNamesOperatorAndPath) {
  SourceContext context{"operator 'input' (op1)", 0, 1, &cancel_};
  auto driver =
      MakeSourceDriver("source.file", R"({"path":"/nonexistent/sluice/in.txt"})", context);
  ASSERT_FALSE(driver.ok());
  EXPECT_EQ(driver.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(driver.status().message().find("operator 'input' (op1)"), std::string::npos);
  EXPECT_NE(driver.status().message().find("/nonexistent/sluice/in.txt"), std::string::npos);
  EXPECT_NE(driver.status().message().find("No such file"), std::string::npos);
}

TEST_F(SourceDriverTest, GeneratedSourceCoversItsShareOfIndexes) {
  // 10 records over 3 subtasks: subtask 1 owns 1, 4, 7.
  SourceContext context{"operator 'gen' (op1)", 1, 3, &cancel_, /*batch_size=*/2};
  auto driver = MakeSourceDriver("source.generator", R"({"count":10})", context);
  ASSERT_TRUE(driver.ok());
  EXPECT_EQ(Drain(**driver), "");
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].generated->first, 1);
  EXPECT_EQ(batches[0].generated->stride, 3);
  EXPECT_EQ(batches[0].generated->count, 2);
  EXPECT_EQ(batches[1].generated->first, 7);
  EXPECT_EQ(batches[1].generated->count, 1);
}

TEST_F(SourceDriverTest, NexmarkSourceUsesEventsAsItsBound) {
  SourceContext context{"operator 'nx' (op1)", 0, 1, &cancel_, /*batch_size=*/4096};
  auto driver = MakeSourceDriver("source.nexmark", R"({"events":5000})", context);
  ASSERT_TRUE(driver.ok());
  Drain(**driver);
  int64_t total = 0;
  for (const InputBatch& batch : batches) total += batch.generated->count;
  EXPECT_EQ(total, 5000);
}

TEST_F(SourceDriverTest, RateLimitedSourceStopsPromptlyWhenCancelled) {
  // One record per 100 s: the second batch would wait; cancelling must end the wait.
  SourceContext context{"operator 'gen' (op1)", 0, 1, &cancel_, /*batch_size=*/10};
  auto driver = MakeSourceDriver("source.generator", R"({"rate":0.01})", context);
  ASSERT_TRUE(driver.ok());
  auto first = (*driver)->Next();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->generated.has_value());
  EXPECT_EQ(first->generated->count, 1);
  cancel_.Cancel();
  auto second = (*driver)->Next();
  EXPECT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kCancelled);
}

}  // namespace
}  // namespace sluice::runtime
