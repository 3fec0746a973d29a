// The worker's coordinator fencing by itself: which calls it refuses, which tasks a newer
// coordinator supersedes, and whose checkpoint notifications a sink obeys.
#include "worker/epoch_fence.h"

#include <gtest/gtest.h>

namespace sluice::worker {
namespace {

TEST(EpochFenceTest, TheFirstEpochIsAdoptedAndAnOlderOneIsRefusedNamingBoth) {
  EpochFence fence("10.0.0.7:7071");
  std::vector<TaskId> superseded;
  ASSERT_TRUE(fence.Accept(5, "DeployTask", &superseded).ok());
  EXPECT_EQ(fence.epoch(), 5u);
  EXPECT_TRUE(fence.Accept(5, "CancelTask", &superseded).ok()) << "the same epoch again";
  Status old = fence.Accept(4, "TriggerCheckpoint", &superseded);
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(old.message(),
            "worker 10.0.0.7:7071 refused TriggerCheckpoint: coordinator epoch 4 is fenced off "
            "by epoch 5");
  EXPECT_EQ(fence.epoch(), 5u) << "a refused call changes nothing";
  EXPECT_TRUE(superseded.empty());
}

TEST(EpochFenceTest, ANewerEpochSupersedesOnlyTheTasksOlderEpochsDeployed) {
  EpochFence fence("w");
  std::vector<TaskId> superseded;
  ASSERT_TRUE(fence.Accept(1, "DeployTask", &superseded).ok());
  fence.Deployed(TaskId("job/g0.0"), 1);
  fence.Deployed(TaskId("job/g1.0"), 1);
  ASSERT_TRUE(fence.Accept(3, "DeployTask", &superseded).ok());
  EXPECT_EQ(superseded, (std::vector<TaskId>{TaskId("job/g0.0"), TaskId("job/g1.0")}));
  fence.Deployed(TaskId("job/g0.0#1"), 3);
  superseded.clear();
  ASSERT_TRUE(fence.Accept(3, "a heartbeat reply", &superseded).ok());
  EXPECT_TRUE(superseded.empty()) << "the same epoch supersedes nothing";
  // Forgotten (reaped) tasks are not handed back again.
  fence.Forget(TaskId("job/g0.0"));
  fence.Forget(TaskId("job/g1.0"));
  ASSERT_TRUE(fence.Accept(7, "a registration", &superseded).ok());
  EXPECT_EQ(superseded, std::vector<TaskId>{TaskId("job/g0.0#1")});
}

TEST(EpochFenceTest, ASinkCommitsOnlyOnTheNotificationOfTheEpochThatDeployedIt) {
  EpochFence fence("w");
  std::vector<TaskId> superseded;
  ASSERT_TRUE(fence.Accept(2, "DeployTask", &superseded).ok());
  fence.Deployed(TaskId("job/g1.0"), 2);
  EXPECT_TRUE(fence.MayNotify(TaskId("job/g1.0"), 2).ok());
  // A newer coordinator has not deployed this task: its "complete" must not commit the old
  // attempt's transaction (the new attempt replays from its own checkpoint).
  ASSERT_TRUE(fence.Accept(3, "NotifyCheckpointComplete", &superseded).ok());
  Status other = fence.MayNotify(TaskId("job/g1.0"), 3);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.message(), "task job/g1.0 was deployed by coordinator epoch 2, not 3");
  EXPECT_TRUE(fence.MayNotify(TaskId("job/unknown"), 3).ok()) << "an unknown task: nothing to do";
}

}  // namespace
}  // namespace sluice::worker
