#include "coordinator/checkpoint_store.h"
#include "tests/common/temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sluice::coordinator {
namespace {

namespace fs = std::filesystem;

proto::CheckpointMetadata MakeMetadata(const std::string& directory, uint64_t id) {
  proto::CheckpointMetadata metadata;
  metadata.set_job_id("job-1");
  metadata.set_checkpoint_id(id);
  metadata.set_directory(directory);
  metadata.set_triggered_at_ms(1700000000000);
  metadata.set_completed_at_ms(1700000000250);
  metadata.mutable_spec()->set_name("bid-counts");
  for (int i = 0; i < 2; ++i) {
    proto::TaskSnapshot* task = metadata.add_tasks();
    task->set_task_id("job-1/g0." + std::to_string(i));
    task->add_operator_ids("op1");
    task->set_subtask(i);
    task->set_parallelism(2);
    task->set_max_parallelism(128);
    task->set_state_path(directory + "/job-1-g0." + std::to_string(i) + "/state");
    task->set_source_position(R"({"offset":)" + std::to_string(100 * id) + "}");
  }
  return metadata;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

class CheckpointStoreTest : public ::testing::Test {
 protected:

  std::string Path(const std::string& name) const { return (fs::path(dir_) / name).string(); }

  CheckpointStore store_;
  sluice::testing::TempDir temp_{"sluice-checkpoint-store"};
  std::string dir_ = temp_.str();
};

TEST_F(CheckpointStoreTest, WrittenMetadataReadsBackEqualFromTheDirectoryOrTheFile) {
  const proto::CheckpointMetadata metadata = MakeMetadata(Path("job-1/chk-3"), 3);
  ASSERT_TRUE(store_.WriteMetadata(metadata).ok());  // creates the directory
  ASSERT_TRUE(fs::exists(Path("job-1/chk-3/_metadata")));

  for (const std::string& path : {Path("job-1/chk-3"), Path("job-1/chk-3/_metadata")}) {
    auto read = store_.ReadMetadata(path);
    ASSERT_TRUE(read.ok()) << read.status().message();
    EXPECT_EQ(read->SerializeAsString(), metadata.SerializeAsString()) << path;
  }
  // Nothing but the metadata is left in the directory.
  EXPECT_EQ(std::distance(fs::directory_iterator(Path("job-1/chk-3")), fs::directory_iterator()),
            1);
}

TEST_F(CheckpointStoreTest, NeverOverwritesACheckpoint) {
  ASSERT_TRUE(store_.WriteMetadata(MakeMetadata(Path("sp"), 4)).ok());
  Status again = store_.WriteMetadata(MakeMetadata(Path("sp"), 5));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(again.message(), Path("sp"))) << again.message();
  EXPECT_EQ(store_.ReadMetadata(Path("sp"))->checkpoint_id(), 4u);
  EXPECT_FALSE(store_.WriteMetadata(MakeMetadata("", 6)).ok());
}

// Stops WriteMetadata between the temp file and the rename, as a crash would.
class InterruptedStore : public CheckpointStore {
 public:
  std::string temp_seen;
  bool final_existed = true;

 protected:
  Status BeforeRename(const std::string& temp_path, const std::string& final_path) override {
    temp_seen = ReadBytes(temp_path);
    final_existed = fs::exists(final_path);
    return Status::External("injected crash before the rename");
  }
};

TEST_F(CheckpointStoreTest, AnInterruptedWriteLeavesNoMetadataVisible) {
  InterruptedStore store;
  const proto::CheckpointMetadata metadata = MakeMetadata(Path("chk-1"), 1);
  Status written = store.WriteMetadata(metadata);
  ASSERT_FALSE(written.ok());
  EXPECT_TRUE(Contains(written.message(), "injected crash"));
  // The whole file was written aside while the final name did not exist yet ...
  EXPECT_FALSE(store.final_existed);
  EXPECT_TRUE(Contains(store.temp_seen, metadata.SerializeAsString()));
  // ... and after the failure there is neither the metadata nor the temp file.
  EXPECT_FALSE(fs::exists(Path("chk-1/_metadata")));
  EXPECT_TRUE(fs::is_empty(Path("chk-1")));
  auto read = store_.ReadMetadata(Path("chk-1"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kNotFound);
  // A later write of the same checkpoint succeeds.
  EXPECT_TRUE(store_.WriteMetadata(metadata).ok());
}

TEST_F(CheckpointStoreTest, AMissingCheckpointIsNotFoundNamingThePath) {
  auto missing = store_.ReadMetadata(Path("nowhere"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), Path("nowhere")));
  EXPECT_TRUE(Contains(missing.status().message(), "does not exist"));

  fs::create_directories(Path("chk-2/task/state"));  // a checkpoint that never completed
  auto incomplete = store_.ReadMetadata(Path("chk-2"));
  ASSERT_FALSE(incomplete.ok());
  EXPECT_EQ(incomplete.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(incomplete.status().message(), Path("chk-2")));
  EXPECT_TRUE(Contains(incomplete.status().message(), "no _metadata"));
}

TEST_F(CheckpointStoreTest, AForeignFileIsNotASluiceCheckpoint) {
  fs::create_directories(Path("flink"));
  // Bare protobuf bytes parse as *some* message: only the header tells them apart.
  WriteBytes(Path("flink/_metadata"), MakeMetadata(Path("flink"), 1).SerializeAsString());
  auto read = store_.ReadMetadata(Path("flink"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(read.status().message(), Path("flink/_metadata")));
  EXPECT_TRUE(Contains(read.status().message(), "not a Sluice checkpoint"));

  WriteBytes(Path("empty"), "");
  EXPECT_TRUE(
      Contains(store_.ReadMetadata(Path("empty")).status().message(), "not a Sluice checkpoint"));
}

TEST_F(CheckpointStoreTest, ACorruptFileIsReportedAsCorrupt) {
  ASSERT_TRUE(store_.WriteMetadata(MakeMetadata(Path("chk-5"), 5)).ok());
  const std::string file = Path("chk-5/_metadata");
  const std::string good = ReadBytes(file);

  std::string flipped = good;
  flipped[good.size() - 3] ^= 0x40;
  WriteBytes(file, flipped);
  auto read = store_.ReadMetadata(Path("chk-5"));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().domain(), ErrorDomain::kExternal);
  EXPECT_TRUE(Contains(read.status().message(), file)) << read.status().message();
  EXPECT_TRUE(Contains(read.status().message(), "corrupt"));
  EXPECT_TRUE(Contains(read.status().message(), "checksum"));

  WriteBytes(file, good.substr(0, good.size() - 10));  // cut short
  read = store_.ReadMetadata(Path("chk-5"));
  ASSERT_FALSE(read.ok());
  EXPECT_TRUE(Contains(read.status().message(), "corrupt")) << read.status().message();

  WriteBytes(file, good.substr(0, 12));  // the header itself cut short
  EXPECT_TRUE(Contains(store_.ReadMetadata(file).status().message(), "corrupt"));
}

TEST_F(CheckpointStoreTest, DeleteRemovesTheDirectoryAndToleratesAMissingOne) {
  ASSERT_TRUE(store_.WriteMetadata(MakeMetadata(Path("job-1/chk-1"), 1)).ok());
  fs::create_directories(Path("job-1/chk-1/job-1-g0.0/state"));
  WriteBytes(Path("job-1/chk-1/job-1-g0.0/state/000001.sst"), "sst");
  ASSERT_TRUE(store_.Delete(Path("job-1/chk-1")).ok());
  EXPECT_FALSE(fs::exists(Path("job-1/chk-1")));
  EXPECT_TRUE(fs::exists(Path("job-1")));
  EXPECT_TRUE(store_.Delete(Path("job-1/chk-1")).ok());
  EXPECT_FALSE(store_.Delete("").ok());
  EXPECT_FALSE(store_.Delete("/").ok());
}

// Incremental checkpoints share a task's unchanged SST files by hard links (worker/state
// README, "Checkpoint"): retention deletes a checkpoint's directory, and a shared file stays
// as long as a retained checkpoint links it.
TEST_F(CheckpointStoreTest, DeletingACheckpointKeepsTheFilesRetainedOnesShare) {
  const std::string task = "/job-1-g0.0/state/";
  for (int n = 1; n <= 3; ++n) {
    ASSERT_TRUE(
        store_.WriteMetadata(MakeMetadata(Path("job-1/chk-" + std::to_string(n)), n)).ok());
    fs::create_directories(Path("job-1/chk-" + std::to_string(n) + task));
  }
  WriteBytes(Path("job-1/chk-1" + task + "000010.sst"), "written by checkpoint 1");
  fs::create_hard_link(Path("job-1/chk-1" + task + "000010.sst"),
                       Path("job-1/chk-2" + task + "000010.sst"));
  WriteBytes(Path("job-1/chk-2" + task + "000012.sst"), "written by checkpoint 2");
  fs::create_hard_link(Path("job-1/chk-2" + task + "000010.sst"),
                       Path("job-1/chk-3" + task + "000010.sst"));
  fs::create_hard_link(Path("job-1/chk-2" + task + "000012.sst"),
                       Path("job-1/chk-3" + task + "000012.sst"));
  EXPECT_EQ(fs::hard_link_count(Path("job-1/chk-3" + task + "000010.sst")), 3u);

  ASSERT_TRUE(store_.Delete(Path("job-1/chk-1")).ok());
  EXPECT_EQ(ReadBytes(Path("job-1/chk-2" + task + "000010.sst")), "written by checkpoint 1");
  EXPECT_EQ(fs::hard_link_count(Path("job-1/chk-3" + task + "000010.sst")), 2u);
  ASSERT_TRUE(store_.Delete(Path("job-1/chk-2")).ok());
  EXPECT_EQ(ReadBytes(Path("job-1/chk-3" + task + "000010.sst")), "written by checkpoint 1");
  EXPECT_EQ(ReadBytes(Path("job-1/chk-3" + task + "000012.sst")), "written by checkpoint 2");
  EXPECT_EQ(fs::hard_link_count(Path("job-1/chk-3" + task + "000010.sst")), 1u);
  auto latest = store_.LatestCompleted(Path("job-1"));
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->checkpoint_id(), 3u);
}

TEST_F(CheckpointStoreTest, LatestCompletedIsTheHighestReadableCheckpoint) {
  const std::string job_dir = Path("job-1");
  auto none = store_.LatestCompleted(job_dir);  // no directory yet
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());

  for (uint64_t id : {2, 9, 10}) {
    ASSERT_TRUE(
        store_.WriteMetadata(MakeMetadata(job_dir + "/chk-" + std::to_string(id), id)).ok());
  }
  fs::create_directories(job_dir + "/chk-12/task");  // failed, no metadata
  fs::create_directories(job_dir + "/chk-11");       // corrupt metadata
  WriteBytes(job_dir + "/chk-11/_metadata", "SLUICECP garbage");
  fs::create_directories(job_dir + "/chk-99x");  // not a checkpoint name
  fs::create_directories(job_dir + "/savepoint-50");
  WriteBytes(job_dir + "/chk-40", "a file, not a directory");

  auto latest = store_.LatestCompleted(job_dir);
  ASSERT_TRUE(latest.ok()) << latest.status().message();
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->checkpoint_id(), 10u);  // numeric order: 10 > 9 > 2
  EXPECT_EQ((*latest)->directory(), job_dir + "/chk-10");

  WriteBytes(Path("not-a-dir"), "x");
  auto refused = store_.LatestCompleted(Path("not-a-dir"));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(Contains(refused.status().message(), Path("not-a-dir")));
}

}  // namespace
}  // namespace sluice::coordinator
