#include "coordinator/scheduler.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice::coordinator {
namespace {

std::vector<PlannedTask> Tasks(int count) {
  std::vector<PlannedTask> tasks;
  for (int i = 0; i < count; ++i) {
    tasks.push_back({MakeTaskId(JobId("j"), 0, i), 0, static_cast<uint32_t>(i)});
  }
  return tasks;
}

std::map<std::string, int> CountPerWorker(const std::vector<Assignment>& assignments) {
  std::map<std::string, int> counts;
  for (const Assignment& a : assignments) ++counts[a.worker.str()];
  return counts;
}

TEST(SchedulerTest, SpreadsTwoTasksOverTwoWorkers) {
  auto assignments = AssignSlots({{WorkerId("w1"), 4}, {WorkerId("w2"), 4}}, Tasks(2));
  ASSERT_TRUE(assignments.ok()) << assignments.status().message();
  ASSERT_EQ(assignments->size(), 2u);
  EXPECT_EQ((*assignments)[0].task.str(), "j/g0.0");
  EXPECT_EQ((*assignments)[0].worker.str(), "w1");
  EXPECT_EQ((*assignments)[1].task.str(), "j/g0.1");
  EXPECT_EQ((*assignments)[1].worker.str(), "w2");
}

TEST(SchedulerTest, RoundRobinSkipsWorkersWithoutFreeSlots) {
  auto assignments =
      AssignSlots({{WorkerId("full"), 0}, {WorkerId("small"), 1}, {WorkerId("big"), 5}}, Tasks(5));
  ASSERT_TRUE(assignments.ok()) << assignments.status().message();
  EXPECT_EQ(CountPerWorker(*assignments), (std::map<std::string, int>{{"small", 1}, {"big", 4}}));
  EXPECT_EQ((*assignments)[0].worker.str(), "small");
  EXPECT_EQ((*assignments)[1].worker.str(), "big");
}

TEST(SchedulerTest, UsesEveryFreeSlotWhenTheyAreJustEnough) {
  auto assignments = AssignSlots({{WorkerId("a"), 2}, {WorkerId("b"), 1}}, Tasks(3));
  ASSERT_TRUE(assignments.ok());
  EXPECT_EQ(CountPerWorker(*assignments), (std::map<std::string, int>{{"a", 2}, {"b", 1}}));
}

TEST(SchedulerTest, RefusesWhenTheClusterHasTooFewFreeSlots) {
  auto assignments = AssignSlots({{WorkerId("w1"), 1}, {WorkerId("w2"), 1}}, Tasks(4));
  ASSERT_FALSE(assignments.ok());
  EXPECT_EQ(assignments.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(assignments.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(assignments.status().message(),
            "job needs 4 task slots but the cluster has 2 free (2 workers registered)");
  auto single = AssignSlots({{WorkerId("w1"), 0}}, Tasks(1));
  ASSERT_FALSE(single.ok());
  EXPECT_EQ(single.status().message(),
            "job needs 1 task slot but the cluster has 0 free (1 worker registered)");
}

TEST(SchedulerTest, RefusesWhenNoWorkerIsRegistered) {
  auto assignments = AssignSlots({}, Tasks(1));
  ASSERT_FALSE(assignments.ok());
  EXPECT_EQ(assignments.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(assignments.status().message(), "no workers are registered with the coordinator");
}

TEST(SchedulerTest, NoTasksNeedNoSlots) {
  auto assignments = AssignSlots({{WorkerId("w1"), 0}}, {});
  ASSERT_TRUE(assignments.ok());
  EXPECT_TRUE(assignments->empty());
}

}  // namespace
}  // namespace sluice::coordinator
