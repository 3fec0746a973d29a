// source.file and sink.file at their limits: lines longer than the limit, reads a cancel must
// stop (/dev/zero, a FIFO), folders the worker allows, existing output files.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/common/temp_dir.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/file_reach.h"
#include "worker/runtime/line_reader.h"
#include "worker/runtime/source_driver.h"

namespace sluice::runtime {
namespace {

using Clock = std::chrono::steady_clock;

class FileLimitsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path) << text;
    return path;
  }
  FileReach Reach(std::vector<std::string> roots) {
    auto reach = FileReach::Make(roots);
    EXPECT_TRUE(reach.ok()) << reach.status().message();
    return reach.ok() ? std::move(reach).value() : FileReach();
  }
  Result<std::unique_ptr<SourceDriver>> Source(const std::string& path, const FileReach* reach,
                                               uint64_t max_line = uint64_t{16} << 20) {
    SourceContext context{"operator 'in' (op1)", 0, 1, &cancel_};
    context.file_reach = reach;
    context.max_line_bytes = max_line;
    return MakeSourceDriver("source.file", nlohmann::json{{"path", path}}.dump(), context);
  }
  Result<std::unique_ptr<BatchSink>> Sink(const std::string& path, const FileReach* reach,
                                          bool overwrite = false, const char* task = "j/g0.0") {
    SinkContext context;
    context.task = TaskId(task);
    context.operator_label = "operator 'out' (op2)";
    context.file_reach = reach;
    nlohmann::json config = {{"path", path}};
    if (overwrite) config["overwrite"] = true;
    return MakeSink("sink.file", config.dump(), context);
  }

  sluice::testing::TempDir dir_{"sluice-file-limits"};
  CancelSignal cancel_;
};

TEST_F(FileLimitsTest, ALineOverTheLimitFailsNamingFileLineAndOffset) {
  const std::string path = Write("in.txt", "short\n" + std::string(5000, 'x') + "\nafter\n");
  auto source = Source(path, nullptr, 1000);
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto batch = (*source)->Next();
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(batch.status().message(),
            "operator 'in' (op1): line 2 of '" + path +
                "' (at byte offset 6) is longer than the limit of 1000 bytes (source.file's "
                "maxLineBytes, at most the worker's --max-line-bytes)");
}

TEST_F(FileLimitsTest, DevZeroFailsAtTheLineLimitWithBoundedMemory) {
  auto source = Source("/dev/zero", nullptr, 4 << 20);
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto batch = (*source)->Next();
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("line 1 of '/dev/zero' (at byte offset 0) is longer "
                                          "than the limit of 4194304 bytes"),
            std::string::npos)
      << batch.status().message();
}

TEST_F(FileLimitsTest, CancelStopsAReadOfDevZero) {
  LineReader reader({"/dev/zero", "operator 'in' (op1)", size_t{1} << 40, &cancel_});
  ASSERT_TRUE(reader.Open(0).ok());
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancel_.Cancel();
  });
  std::string_view line;
  auto read = reader.Next(&line);
  canceller.join();
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kCancelled);
}

TEST_F(FileLimitsTest, AFifoWithoutWriterWaitsAndACancelEndsTheWait) {
  const std::string path = (dir_.path() / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto source = Source(path, nullptr);  // opening does not block without a writer
  ASSERT_TRUE(source.ok()) << source.status().message();
  auto waiting = (*source)->Next();
  ASSERT_TRUE(waiting.ok()) << waiting.status().message();
  EXPECT_FALSE(waiting->end);  // an empty batch: nothing yet, not the end
  EXPECT_FALSE(waiting->has_records());
  cancel_.Cancel();
  const auto start = Clock::now();
  auto cancelled = (*source)->Next();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.status().code(), StatusCode::kCancelled);
}

TEST_F(FileLimitsTest, AFifoIsReadUntilItsWriterCloses) {
  const std::string path = (dir_.path() / "fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto source = Source(path, nullptr);
  ASSERT_TRUE(source.ok()) << source.status().message();
  std::thread writer([&] {
    const int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "a\nb\n", 4), 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(::write(fd, "c", 1), 1);
    ::close(fd);
  });
  std::string all;
  for (int i = 0; i < 1000; ++i) {
    auto batch = (*source)->Next();
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    if (batch->end) break;
    all += batch->text;
  }
  writer.join();
  EXPECT_EQ(all, "a\nb\nc\n");
}

TEST_F(FileLimitsTest, PathsOutsideTheAllowedFoldersAreRefusedAfterResolving) {
  const std::string inside = Write("in.txt", "x\n");
  std::filesystem::create_directory(dir_.path() / "allowed");
  const FileReach reach = Reach({(dir_.path() / "allowed").string()});
  std::filesystem::create_symlink(inside, dir_.path() / "allowed" / "link.txt");
  const std::string dotdot = (dir_.path() / "allowed" / ".." / "in.txt").string();
  for (const std::string& path :
       {dotdot, (dir_.path() / "allowed" / "link.txt").string(), std::string("/etc/passwd")}) {
    auto source = Source(path, &reach);
    ASSERT_FALSE(source.ok()) << path;
    EXPECT_NE(source.status().message().find("operator 'in' (op1): input file '" + path + "'"),
              std::string::npos)
        << source.status().message();
    EXPECT_NE(source.status().message().find("is outside the folders this worker allows (" +
                                             reach.roots()[0] + ")"),
              std::string::npos)
        << source.status().message();
    auto sink = Sink(path, &reach, true);
    ASSERT_FALSE(sink.ok()) << path;
    EXPECT_NE(sink.status().message().find("output file '" + path + "'"), std::string::npos)
        << sink.status().message();
  }
  std::ofstream(dir_.path() / "allowed" / "ok.txt") << "ok\n";
  EXPECT_TRUE(Source((dir_.path() / "allowed" / "ok.txt").string(), &reach).ok());
  EXPECT_TRUE(Sink((dir_.path() / "allowed" / "new.jsonl").string(), &reach).ok());
  EXPECT_EQ(FileReach().Describe(), "none");
  FileReach none;
  EXPECT_FALSE(Source((dir_.path() / "allowed" / "ok.txt").string(), &none).ok());
}

TEST_F(FileLimitsTest, AnExistingOutputFileIsKeptUnlessTheSinkSaysOverwrite) {
  const FileReach reach = Reach({dir_.str()});
  const std::string path = Write("out.jsonl", "precious\n");
  auto refused = Sink(path, &reach);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "operator 'out' (op2): output file '" + path +
                "' exists; the sink overwrites it only with overwrite: true");
  std::ifstream kept(path);
  std::string line;
  std::getline(kept, line);
  EXPECT_EQ(line, "precious");
  // A later attempt of the same job replaces what the first one wrote.
  EXPECT_TRUE(Sink(path, &reach, false, "j/g0.0#1").ok());
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
  std::ofstream(path) << "again\n";
  EXPECT_TRUE(Sink(path, &reach, true).ok());
  EXPECT_EQ(std::filesystem::file_size(path), 0u);
}

TEST_F(FileLimitsTest, AnOutputFifoIsRefusedAtOnceInsteadOfBlocking) {
  const FileReach reach = Reach({dir_.str()});
  const std::string path = (dir_.path() / "out.fifo").string();
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  auto sink = Sink(path, &reach, true);
  ASSERT_FALSE(sink.ok());
  EXPECT_EQ(sink.status().message(),
            "operator 'out' (op2): output file '" + path + "' is not a regular file");
}

}  // namespace
}  // namespace sluice::runtime
