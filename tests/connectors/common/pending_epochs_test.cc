#include "connectors/common/pending_epochs.h"
#include "tests/common/temp_dir.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sluice::connectors {
namespace {

namespace fs = std::filesystem;

class PendingEpochsTest : public ::testing::Test {
 protected:
  std::string Dir(const std::string& name) const { return (fs::path(root_) / name).string(); }

  sluice::testing::TempDir temp_{"sluice-pending"};
  std::string root_ = temp_.str();
  PendingEpochs pending_{"job1/op4/0"};
};

TEST_F(PendingEpochsTest, PrepareWritesEveryUncommittedEpochAndLoadReadsThemBack) {
  pending_.Append("[1]\n[2]\n");
  auto first = pending_.Prepare(1, Dir("chk-1/task/sink"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  pending_.Append("[3]\n");
  auto second = pending_.Prepare(2, Dir("chk-2/task/sink"));
  ASSERT_TRUE(second.ok()) << second.status().message();

  const auto description = nlohmann::json::parse(*second);
  EXPECT_EQ(description["sink"], "job1/op4/0");
  EXPECT_EQ(description["epochs"], nlohmann::json::array({1, 2}))
      << "checkpoint 1 did not complete, so checkpoint 2 carries epoch 1 too";
  auto loaded = PendingEpochs::Load(*second);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_EQ(loaded->sink_id, "job1/op4/0");
  EXPECT_FALSE(loaded->finished);
  ASSERT_EQ(loaded->epochs.size(), 2u);
  EXPECT_EQ(loaded->epochs[0].number, 1u);
  EXPECT_EQ(loaded->epochs[0].lines, "[1]\n[2]\n");
  EXPECT_EQ(loaded->epochs[1].number, 2u);
  EXPECT_EQ(loaded->epochs[1].lines, "[3]\n");

  auto only_first = PendingEpochs::Load(*first);
  ASSERT_TRUE(only_first.ok());
  ASSERT_EQ(only_first->epochs.size(), 1u) << "the file of checkpoint 1 is not rewritten";
}

TEST_F(PendingEpochsTest, CommitThroughCommitsInOrderAndDropsOnlyWhenAllSucceeded) {
  for (uint64_t n = 1; n <= 3; ++n) {
    pending_.Append("[" + std::to_string(n) + "]\n");
    ASSERT_TRUE(pending_.Prepare(n, Dir("p" + std::to_string(n))).ok());
  }
  std::vector<uint64_t> committed;
  auto failing_at_2 = [&](const std::string& sink_id, const Epoch& epoch) {
    EXPECT_EQ(sink_id, "job1/op4/0");
    if (epoch.number == 2) return Status::Unavailable("down");
    committed.push_back(epoch.number);
    return Status::Ok();
  };
  EXPECT_EQ(pending_.CommitThrough(2, failing_at_2).code(), StatusCode::kUnavailable);
  EXPECT_EQ(committed, std::vector<uint64_t>{1});
  EXPECT_EQ(pending_.ClosedThrough(99).size(), 3u) << "nothing dropped after a failure";

  committed.clear();
  auto record = [&](const std::string&, const Epoch& epoch) {
    committed.push_back(epoch.number);
    return Status::Ok();
  };
  ASSERT_TRUE(pending_.CommitThrough(2, record).ok());
  EXPECT_EQ(committed, (std::vector<uint64_t>{1, 2}));
  ASSERT_EQ(pending_.ClosedThrough(99).size(), 1u);
  EXPECT_EQ(pending_.ClosedThrough(99)[0]->number, 3u);
}

TEST_F(PendingEpochsTest, PrepareWithALabelNamesItInErrors) {
  pending_.Append("[1]\n");
  ASSERT_TRUE(pending_.Prepare(2, Dir("a")).ok());
  auto stale = pending_.Prepare(1, Dir("b"), "operator 'out' (op4)");
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().message().rfind("operator 'out' (op4): ", 0), 0u)
      << stale.status().message();
}

TEST_F(PendingEpochsTest, CommittedEpochsAreDroppedAndNothingLeftMeansNoDescription) {
  pending_.Append("[1]\n");
  ASSERT_TRUE(pending_.Prepare(1, Dir("a")).ok());
  pending_.Append("[2]\n");
  ASSERT_TRUE(pending_.Prepare(2, Dir("b")).ok());
  ASSERT_EQ(pending_.ClosedThrough(1).size(), 1u);
  EXPECT_EQ(pending_.ClosedThrough(1)[0]->lines, "[1]\n");
  pending_.DropThrough(2);
  EXPECT_TRUE(pending_.ClosedThrough(99).empty());
  auto empty = pending_.Prepare(3, Dir("c"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  EXPECT_FALSE(fs::exists(Dir("c"))) << "nothing written when nothing is uncommitted";
  EXPECT_EQ(pending_.last(), 3u);
}

TEST_F(PendingEpochsTest, BarriersMustGoUp) {
  pending_.StartAfter(5);
  pending_.Append("[1]\n");
  auto stale = pending_.Prepare(5, Dir("x"));
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().message(), "sink job1/op4/0: barrier 5 after epoch 5");
  EXPECT_TRUE(pending_.Prepare(6, Dir("y")).ok());
  EXPECT_FALSE(pending_.Close(6).ok());
}

TEST_F(PendingEpochsTest, CloseKeepsAnEmptyEpochSoItsMarkerIsWritten) {
  ASSERT_TRUE(pending_.Close(1).ok());
  ASSERT_EQ(pending_.ClosedThrough(1).size(), 1u);
  EXPECT_EQ(pending_.ClosedThrough(1)[0]->lines, "");
}

TEST_F(PendingEpochsTest, AFinishedSinkKeepsNothingAndSaysSo) {
  pending_.Append("[1]\n");
  pending_.MarkFinished();
  pending_.Append("[2]\n");
  auto description = pending_.Prepare(7, Dir("f"));
  ASSERT_TRUE(description.ok());
  auto loaded = PendingEpochs::Load(*description);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->finished);
  EXPECT_EQ(loaded->sink_id, "job1/op4/0");
  EXPECT_TRUE(loaded->epochs.empty());
}

TEST_F(PendingEpochsTest, LoadNamesTheFileThatIsMissingOrCutShort) {
  pending_.Append("[1]\n[2]\n");
  auto description = pending_.Prepare(1, Dir("cut"));
  ASSERT_TRUE(description.ok());
  const std::string path = Dir("cut/pending-epochs");
  fs::resize_file(path, fs::file_size(path) - 6);
  auto cut = PendingEpochs::Load(*description);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().message(), "pending epochs file '" + path + "': epoch 1 is cut short");

  fs::remove(path);
  auto missing = PendingEpochs::Load(*description);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "cannot open the pending epochs file '" + path + "': No such file or directory");

  { std::ofstream(path) << "something else\n"; }
  auto other = PendingEpochs::Load(*description);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().message(),
            "pending epochs file '" + path + "': not a pending epochs file");

  auto garbage = PendingEpochs::Load("{\"path\": 1}");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find("sink state '{\"path\": 1}'"), std::string::npos);
}

TEST_F(PendingEpochsTest, LoadRefusesAFileThatDisagreesWithTheDescription) {
  pending_.Append("[1]\n");
  auto description = pending_.Prepare(1, Dir("d"));
  ASSERT_TRUE(description.ok());
  auto changed = nlohmann::json::parse(*description);
  changed["epochs"] = {1, 2};
  auto loaded = PendingEpochs::Load(changed.dump());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().message(), "pending epochs file '" + Dir("d/pending-epochs") +
                                           "': holds epochs [1], the checkpoint says [1,2]");
}

}  // namespace
}  // namespace sluice::connectors
