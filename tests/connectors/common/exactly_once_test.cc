#include "connectors/common/exactly_once.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/common/temp_dir.h"

namespace sluice::connectors {
namespace {

// An external system in memory: committed epochs and markers per sink id, what it was asked.
class FakeStore : public EpochStore {
 public:
  Status Start() override {
    ++starts;
    return Status::Ok();
  }
  Status Check(std::string_view lines) override {
    if (lines.find("bad") != std::string_view::npos) return Status::User("a bad record");
    return Status::Ok();
  }
  Status CommitEpoch(const std::string& sink_id, const Epoch& epoch) override {
    if (fail_commits) return Status::External("store away", /*retryable=*/true);
    uint64_t& marker = markers[sink_id];
    if (epoch.number <= marker) return Status::Ok();
    committed[sink_id] += epoch.lines;
    marker = epoch.number;
    commits.push_back(sink_id + "#" + std::to_string(epoch.number));
    return Status::Ok();
  }
  Result<std::map<std::string, uint64_t>> ReadMarkers(
      const std::vector<std::string>& sink_ids) override {
    std::map<std::string, uint64_t> out;
    for (const std::string& id : sink_ids) {
      auto it = markers.find(id);
      if (it != markers.end()) out[id] = it->second;
    }
    return out;
  }
  Status FenceOld(const std::vector<std::string>& old) override {
    fenced.insert(fenced.end(), old.begin(), old.end());
    return Status::Ok();
  }

  int starts = 0;
  bool fail_commits = false;
  std::map<std::string, uint64_t> markers;
  std::map<std::string, std::string> committed;
  std::vector<std::string> commits;
  std::vector<std::string> fenced;
};

class ExactlyOnceProtocolTest : public ::testing::Test {
 protected:
  std::string Dir(const std::string& name) const {
    return (std::filesystem::path(temp_.str()) / name).string();
  }
  sluice::testing::TempDir temp_{"sluice-exactly-once"};
  FakeStore store_;
};

TEST_F(ExactlyOnceProtocolTest, CommitsAnEpochOnlyWhenItsCheckpointCompletes) {
  ExactlyOnceProtocol sink("job/op4/0", "operator 'out' (op4)", store_);
  ASSERT_TRUE(sink.Write("[1]\n[2]\n").ok());
  auto prepared = sink.Prepare(1, Dir("chk-1"));
  ASSERT_TRUE(prepared.ok()) << prepared.status().message();
  EXPECT_TRUE(store_.committed.empty()) << "nothing is visible before checkpoint 1 completed";
  ASSERT_TRUE(sink.Write("[3]\n").ok());
  ASSERT_TRUE(sink.Commit(1).ok());
  EXPECT_EQ(store_.committed["job/op4/0"], "[1]\n[2]\n");
  EXPECT_EQ(store_.markers["job/op4/0"], 1u);
  ASSERT_TRUE(sink.Finish().ok());
  EXPECT_EQ(store_.committed["job/op4/0"], "[1]\n[2]\n[3]\n");
  EXPECT_EQ(store_.markers["job/op4/0"], 2u);
  EXPECT_EQ(store_.starts, 1);
}

TEST_F(ExactlyOnceProtocolTest, ABadRecordFailsTheWriteNotALaterCommit) {
  ExactlyOnceProtocol sink("job/op4/0", "operator 'out' (op4)", store_);
  Status written = sink.Write("bad\n");
  EXPECT_EQ(written.message(), "a bad record");
  ASSERT_TRUE(sink.Prepare(1, Dir("chk-1")).ok());
  ASSERT_TRUE(sink.Commit(1).ok());
  EXPECT_TRUE(store_.commits.empty());
}

TEST_F(ExactlyOnceProtocolTest, RestoreCommitsWhatTheMarkersDoNotCoverAndFencesTheOldSubtasks) {
  std::vector<std::string> prepared;
  {
    // Two old subtasks prepared checkpoint 2; subtask 0 had committed epoch 1 before it died.
    FakeStore old;
    ExactlyOnceProtocol zero("job/op4/0", "operator 'out' (op4)", old);
    ExactlyOnceProtocol one("job/op4/1", "operator 'out' (op4)", old);
    ASSERT_TRUE(zero.Write("[a]\n").ok());
    ASSERT_TRUE(one.Write("[b]\n").ok());
    ASSERT_TRUE(zero.Prepare(1, Dir("chk-1/0")).ok());
    ASSERT_TRUE(one.Prepare(1, Dir("chk-1/1")).ok());
    ASSERT_TRUE(zero.Write("[c]\n").ok());
    auto p0 = zero.Prepare(2, Dir("chk-2/0"));
    auto p1 = one.Prepare(2, Dir("chk-2/1"));
    ASSERT_TRUE(p0.ok() && p1.ok());
    prepared = {*p0, *p1};
  }
  store_.markers["job/op4/0"] = 1;
  store_.committed["job/op4/0"] = "[a]\n";
  // At parallelism 1 the new subtask 0 takes both over.
  ExactlyOnceProtocol sink("job/op4/0", "operator 'out' (op4)", store_);
  Status restored = sink.Restore(2, prepared);
  ASSERT_TRUE(restored.ok()) << restored.message();
  EXPECT_EQ(store_.fenced, std::vector<std::string>{"job/op4/1"});
  EXPECT_EQ(store_.committed["job/op4/0"], "[a]\n[c]\n") << "epoch 1 is not written twice";
  EXPECT_EQ(store_.committed["job/op4/1"], "[b]\n");
  ASSERT_TRUE(sink.Write("[d]\n").ok());
  ASSERT_TRUE(sink.Prepare(3, Dir("chk-3")).ok());
  ASSERT_TRUE(sink.Commit(3).ok());
  EXPECT_EQ(store_.markers["job/op4/0"], 3u) << "epochs go on after the restored checkpoint";
}

TEST_F(ExactlyOnceProtocolTest, ASinkWhoseMarkerIsPastTheRestoredCheckpointDropsItsOutput) {
  store_.markers["job/op4/0"] = 5;  // it finished (epoch 5) after checkpoint 3
  ExactlyOnceProtocol sink("job/op4/0", "operator 'out' (op4)", store_);
  ASSERT_TRUE(sink.Restore(3, {}).ok());
  ASSERT_TRUE(sink.Write("[again]\n").ok());
  ASSERT_TRUE(sink.Finish().ok());
  EXPECT_TRUE(store_.commits.empty());
}

TEST_F(ExactlyOnceProtocolTest, AFreshSinkWithAMarkerRanBeforeAndDropsWhatItMakesAgain) {
  store_.markers["job/op4/0"] = 2;
  ExactlyOnceProtocol sink("job/op4/0", "operator 'out' (op4)", store_);
  ASSERT_TRUE(sink.Write("[x]\n").ok());
  ASSERT_TRUE(sink.Finish().ok());
  EXPECT_TRUE(store_.commits.empty());
}

TEST_F(ExactlyOnceProtocolTest, AFailedCommitKeepsTheEpochForTheNextTry) {
  ExactlyOnceProtocol sink("job/op4/0", "operator 'out' (op4)", store_);
  ASSERT_TRUE(sink.Write("[1]\n").ok());
  ASSERT_TRUE(sink.Prepare(1, Dir("chk-1")).ok());
  store_.fail_commits = true;
  Status failed = sink.Commit(1);
  EXPECT_TRUE(failed.retryable());
  store_.fail_commits = false;
  ASSERT_TRUE(sink.Commit(1).ok());
  EXPECT_EQ(store_.committed["job/op4/0"], "[1]\n");
}

}  // namespace
}  // namespace sluice::connectors
