#include "coordinator/job_store.h"
#include "tests/common/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace sluice::coordinator {
namespace {

namespace fs = std::filesystem;

proto::StoredJob MakeJob(const std::string& id, proto::JobState state) {
  proto::StoredJob job;
  job.mutable_spec()->set_name("job " + id);
  job.mutable_spec()->add_operators()->set_id("source");
  job.mutable_info()->set_job_id(id);
  job.mutable_info()->set_name("job " + id);
  job.mutable_info()->set_state(state);
  job.mutable_info()->set_submitted_at_ms(1700000000000);
  for (int i = 0; i < 2; ++i) {
    proto::TaskInfo* task = job.mutable_info()->add_tasks();
    task->set_task_id(id + "/g0." + std::to_string(i));
    task->set_worker_id("worker-" + std::to_string(i + 1));
    task->set_state(state == proto::JOB_FINISHED ? proto::TASK_FINISHED : proto::TASK_RUNNING);
  }
  return job;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class JobStoreTest : public ::testing::Test {
 protected:

  std::unique_ptr<FileJobStore> Open() {
    auto store = FileJobStore::Open(dir_);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return std::move(store).value();
  }

  sluice::testing::TempDir temp_{"sluice-job-store"};
  std::string dir_ = temp_.str();
};

TEST_F(JobStoreTest, SavedJobsLoadBackEqual) {
  auto store = Open();
  proto::StoredJob running = MakeJob("job-1", proto::JOB_RUNNING);
  proto::StoredJob finished = MakeJob("job-2", proto::JOB_FINISHED);
  finished.mutable_info()->set_ended_at_ms(1700000005000);
  ASSERT_TRUE(store->Save(running).ok());
  ASSERT_TRUE(store->Save(finished).ok());

  // A new store on the same folder, as after a restart.
  auto loaded = Open()->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->jobs.size(), 2u);
  EXPECT_TRUE(loaded->skipped.empty());
  std::map<std::string, proto::StoredJob> by_id;
  for (const auto& job : loaded->jobs) by_id[job.info().job_id()] = job;
  EXPECT_EQ(by_id["job-1"].SerializeAsString(), running.SerializeAsString());
  EXPECT_EQ(by_id["job-2"].SerializeAsString(), finished.SerializeAsString());
}

TEST_F(JobStoreTest, RecordsAreForTheOwnerOnly) {
  const std::string data = dir_ + "/data";  // made by the store
  auto store = FileJobStore::Open(data);
  ASSERT_TRUE(store.ok()) << store.status().message();
  ASSERT_TRUE((*store)->Save(MakeJob("job-1", proto::JOB_RUNNING)).ok());
  const auto mode = [](const std::string& path) {
    return fs::status(path).permissions() & fs::perms::all;
  };
  EXPECT_EQ(mode(data), fs::perms::owner_all);
  EXPECT_EQ(mode(data + "/jobs"), fs::perms::owner_all);
  EXPECT_EQ(mode(data + "/jobs/job-1.json"), fs::perms::owner_read | fs::perms::owner_write);

  // A record an older coordinator left readable to all is closed when the store loads it.
  fs::permissions(data + "/jobs/job-1.json", fs::perms::others_read, fs::perm_options::add);
  ASSERT_TRUE((*store)->LoadAll().ok());
  EXPECT_EQ(mode(data + "/jobs/job-1.json"), fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(JobStoreTest, SaveReplacesTheRecordWholeAndLeavesNoTempFile) {
  auto store = Open();
  ASSERT_TRUE(store->Save(MakeJob("job-1", proto::JOB_RUNNING)).ok());
  proto::StoredJob failed = MakeJob("job-1", proto::JOB_FAILED);
  failed.mutable_info()->set_failure("task x failed: boom");
  ASSERT_TRUE(store->Save(failed).ok());

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(dir_) / "jobs")) {
    names.push_back(entry.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"job-1.json"});
  auto loaded = store->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->jobs.size(), 1u);
  EXPECT_EQ(loaded->jobs[0].info().state(), proto::JOB_FAILED);
  EXPECT_EQ(loaded->jobs[0].info().failure(), "task x failed: boom");
}

TEST_F(JobStoreTest, AnInterruptedSaveLeavesThePreviousRecord) {
  auto store = Open();
  ASSERT_TRUE(store->Save(MakeJob("job-1", proto::JOB_RUNNING)).ok());
  // A crash between writing the temp file and renaming it leaves a partial temp file.
  std::ofstream(fs::path(dir_) / "jobs" / ".job-1.json.tmp") << "{\"info\": {\"job_id\": \"jo";

  auto loaded = Open()->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->jobs.size(), 1u);
  EXPECT_EQ(loaded->jobs[0].info().state(), proto::JOB_RUNNING);
  EXPECT_TRUE(loaded->skipped.empty());
  // And the next save still goes through over the leftover.
  ASSERT_TRUE(store->Save(MakeJob("job-1", proto::JOB_FINISHED)).ok());
  EXPECT_EQ(Open()->LoadAll()->jobs.at(0).info().state(), proto::JOB_FINISHED);
}

TEST_F(JobStoreTest, CorruptFilesAreSkippedAndNamedTheOthersLoad) {
  auto store = Open();
  ASSERT_TRUE(store->Save(MakeJob("job-good", proto::JOB_FINISHED)).ok());
  const std::string garbage = store->PathOf("job-garbage");
  std::ofstream(garbage) << "\x01\x02 not json {";
  const std::string truncated = store->PathOf("job-truncated");
  std::string full = ReadFile(store->PathOf("job-good"));
  std::ofstream(truncated) << full.substr(0, full.size() / 2);
  const std::string misnamed = store->PathOf("job-other");
  std::ofstream(misnamed) << full;  // holds job-good's record under another name

  auto loaded = store->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->jobs.size(), 1u);
  EXPECT_EQ(loaded->jobs[0].info().job_id(), "job-good");
  std::sort(loaded->skipped.begin(), loaded->skipped.end());
  std::vector<std::string> expected{garbage, misnamed, truncated};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(loaded->skipped, expected);
}

TEST_F(JobStoreTest, RefusesJobIdsThatAreNotPlainFileNames) {
  auto store = Open();
  EXPECT_FALSE(store->Save(MakeJob("../escape", proto::JOB_RUNNING)).ok());
  EXPECT_FALSE(store->Save(MakeJob("", proto::JOB_RUNNING)).ok());
  EXPECT_FALSE(store->Save(MakeJob(".hidden", proto::JOB_RUNNING)).ok());
  EXPECT_TRUE(store->LoadAll()->jobs.empty());
}

TEST_F(JobStoreTest, OpenFailsWhenTheFolderCannotBeCreated) {
  std::ofstream(fs::path(dir_) / "a-file") << "x";
  auto store = FileJobStore::Open((fs::path(dir_) / "a-file").string());
  EXPECT_FALSE(store.ok());
}

TEST_F(JobStoreTest, EpochsGrowAcrossOpeningsOfTheSameFolder) {
  uint64_t first = 0;
  {
    auto store = FileJobStore::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto epoch = (*store)->AcquireEpoch("127.0.0.1:1");
    ASSERT_TRUE(epoch.ok()) << epoch.status().message();
    first = *epoch;
    EXPECT_GE(first, 1u);
  }
  auto again = FileJobStore::Open(dir_);
  ASSERT_TRUE(again.ok());
  auto second = (*again)->AcquireEpoch("127.0.0.1:1");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, first + 1);
}

TEST(MemoryJobStoreTest, KeepsTheLatestRecordPerJobAndCanBeMadeToFail) {
  MemoryJobStore store;
  ASSERT_TRUE(store.Save(MakeJob("job-1", proto::JOB_RUNNING)).ok());
  ASSERT_TRUE(store.Save(MakeJob("job-1", proto::JOB_FINISHED)).ok());
  auto loaded = store.LoadAll();
  ASSERT_EQ(loaded->jobs.size(), 1u);
  EXPECT_EQ(loaded->jobs[0].info().state(), proto::JOB_FINISHED);
  store.set_fail_saves(true);
  EXPECT_FALSE(store.Save(MakeJob("job-2", proto::JOB_RUNNING)).ok());
  EXPECT_EQ(store.saves(), 2u);
}

TEST_F(JobStoreTest, ACoordinatorStartedLaterOnTheSameDirDeposesTheFirst) {
  auto first = Open();
  auto first_epoch = first->AcquireEpoch("127.0.0.1:7001");
  ASSERT_TRUE(first_epoch.ok());
  EXPECT_TRUE(first->ConfirmLeader().ok());
  EXPECT_FALSE(first->Deposed());
  // The supervisor started another coordinator while the first one hung.
  auto second = Open();
  auto second_epoch = second->AcquireEpoch("127.0.0.1:7001");
  ASSERT_TRUE(second_epoch.ok());
  EXPECT_EQ(*second_epoch, *first_epoch + 1);
  Status confirmed = first->ConfirmLeader();
  ASSERT_FALSE(confirmed.ok());
  EXPECT_EQ(confirmed.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(confirmed.message(), "coordinator epoch " + std::to_string(*first_epoch) +
                                     " was superseded by epoch " + std::to_string(*second_epoch) +
                                     " (a coordinator started later on " + dir_ + ")");
  EXPECT_TRUE(first->Deposed());
  EXPECT_TRUE(second->ConfirmLeader().ok());
  EXPECT_FALSE(second->Deposed());
}

}  // namespace
}  // namespace sluice::coordinator
