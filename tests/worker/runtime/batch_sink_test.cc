#include "worker/runtime/batch_sink.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::runtime {
namespace {

class RecordingPusher : public ResultPusher {
 public:
  Status Push(const JobId&, const TaskId&, std::vector<std::string> records) override {
    for (auto& r : records) pushed.push_back(std::move(r));
    return Status::Ok();
  }
  std::vector<std::string> pushed;
};

js::BatchResult Lines(std::string text, uint64_t n) {
  js::BatchResult batch;
  batch.json_lines = std::move(text);
  batch.records_out = n;
  return batch;
}

TEST(BatchSinkTest, CollectSplitsJsonLinesIntoRecords) {
  RecordingPusher pusher;
  SinkContext context{JobId("j"), TaskId("t"), "operator 'out' (op3)", "op3", 0, 1, &pusher};
  auto sink = MakeSink("sink.collect", "", context);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Write(Lines("{\"a\":1}\n\"x\"\n", 2)).ok());
  EXPECT_EQ(pusher.pushed, (std::vector<std::string>{"{\"a\":1}", "\"x\""}));
}

TEST(BatchSinkTest, DiscardAsksTheChainForCountsOnly) {
  auto sink = MakeSink("sink.discard", "", SinkContext{});
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->output_mode(), js::OutputMode::kCount);
}

TEST(BatchSinkTest, FileSinkWritesOneFilePerSubtaskWhenParallel) {
  auto dir = std::filesystem::temp_directory_path() / ("sluice_sink_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "out.jsonl").string();
  SinkContext context{JobId("j"), TaskId("t"), "operator 'out' (op3)", "op3", 1, 2};
  auto sink = MakeSink("sink.file", R"({"path":")" + path + R"("})", context);
  ASSERT_TRUE(sink.ok()) << sink.status().message();
  ASSERT_TRUE((*sink)->Write(Lines("1\n2\n", 2)).ok());
  ASSERT_TRUE((*sink)->Finish().ok());
  std::stringstream text;
  text << std::ifstream(path + ".1").rdbuf();
  EXPECT_EQ(text.str(), "1\n2\n");
  std::filesystem::remove_all(dir);
}

TEST(BatchSinkTest, UnwritableFileNamesOperatorAndPath) {
  SinkContext context{JobId("j"), TaskId("t"), "operator 'out' (op3)", "op3", 0, 1};
  auto sink = MakeSink("sink.file", R"({"path":"/nonexistent/dir/out.jsonl"})", context);
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("operator 'out' (op3)"), std::string::npos);
  EXPECT_NE(sink.status().message().find("/nonexistent/dir/out.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace sluice::runtime
