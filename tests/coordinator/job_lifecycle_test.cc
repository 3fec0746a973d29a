#include "coordinator/job_lifecycle.h"

#include <gtest/gtest.h>

namespace sluice::coordinator {
namespace {

// Three tasks: two on w1, one on w2.
JobTracker ThreeTasks() {
  return JobTracker({
      {TaskId("j/g0.0"), "read -> parse", WorkerId("w1"), proto::TASK_DEPLOYING, ""},
      {TaskId("j/g0.1"), "read -> parse", WorkerId("w2"), proto::TASK_DEPLOYING, ""},
      {TaskId("j/g1.0"), "results", WorkerId("w1"), proto::TASK_DEPLOYING, ""},
  });
}

std::vector<std::string> Ids(const std::vector<TaskId>& ids) {
  std::vector<std::string> out;
  for (const TaskId& id : ids) out.push_back(id.str());
  return out;
}

TEST(JobLifecycleTest, StateMachineMovesForwardAndTerminalStatesAbsorb) {
  EXPECT_EQ(NextJobState(proto::JOB_CREATED, JobEvent::kDeployed), proto::JOB_RUNNING);
  EXPECT_EQ(NextJobState(proto::JOB_RUNNING, JobEvent::kAllTasksFinished), proto::JOB_FINISHED);
  EXPECT_EQ(NextJobState(proto::JOB_RUNNING, JobEvent::kTaskFailed), proto::JOB_FAILED);
  EXPECT_EQ(NextJobState(proto::JOB_RUNNING, JobEvent::kWorkerLost), proto::JOB_FAILED);
  EXPECT_EQ(NextJobState(proto::JOB_RUNNING, JobEvent::kCancelRequested), proto::JOB_CANCELED);
  EXPECT_EQ(NextJobState(proto::JOB_CREATED, JobEvent::kCancelRequested), proto::JOB_CANCELED);
  for (auto terminal : {proto::JOB_FINISHED, proto::JOB_CANCELED, proto::JOB_FAILED}) {
    EXPECT_TRUE(IsTerminal(terminal));
    for (auto event : {JobEvent::kDeployed, JobEvent::kAllTasksFinished, JobEvent::kTaskFailed,
                       JobEvent::kCancelRequested, JobEvent::kWorkerLost}) {
      EXPECT_EQ(NextJobState(terminal, event), terminal);
    }
  }
  EXPECT_FALSE(IsTerminal(proto::JOB_CREATED));
  EXPECT_FALSE(IsTerminal(proto::JOB_RUNNING));
}

TEST(JobLifecycleTest, FinishesOnlyWhenEveryTaskFinished) {
  JobTracker job = ThreeTasks();
  EXPECT_EQ(job.state(), proto::JOB_CREATED);
  Transition deployed = job.OnDeployed();
  EXPECT_TRUE(deployed.changed);
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  EXPECT_EQ(job.tasks()[0].state, proto::TASK_RUNNING);

  for (const char* id : {"j/g0.0", "j/g0.1"}) {
    auto step = job.OnTaskFinished(TaskId(id));
    ASSERT_TRUE(step.ok());
    EXPECT_FALSE(step->changed);
    EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  }
  auto repeated = job.OnTaskFinished(TaskId("j/g0.0"));  // a repeated report changes nothing
  ASSERT_TRUE(repeated.ok());
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);

  auto last = job.OnTaskFinished(TaskId("j/g1.0"));
  ASSERT_TRUE(last.ok());
  EXPECT_TRUE(last->changed);
  EXPECT_EQ(last->state, proto::JOB_FINISHED);
  EXPECT_TRUE(last->to_cancel.empty());
  EXPECT_EQ(job.state(), proto::JOB_FINISHED);
}

TEST(JobLifecycleTest, TaskFailureFailsJobAndCancelsTheLiveTasks) {
  JobTracker job = ThreeTasks();
  job.OnDeployed().to_cancel.clear();
  ASSERT_TRUE(job.OnTaskFinished(TaskId("j/g1.0")).ok());
  auto failed = job.OnTaskFailed(TaskId("j/g0.1"), "TypeError: r.price is undefined (line 3)");
  ASSERT_TRUE(failed.ok());
  EXPECT_TRUE(failed->changed);
  EXPECT_EQ(failed->state, proto::JOB_FAILED);
  // Not the failed task, not the finished one: only the one still running.
  EXPECT_EQ(Ids(failed->to_cancel), (std::vector<std::string>{"j/g0.0"}));
  EXPECT_EQ(job.failure(),
            "task j/g0.1 (read -> parse) failed: TypeError: r.price is undefined (line 3)");
  EXPECT_EQ(job.tasks()[1].state, proto::TASK_FAILED);
  EXPECT_EQ(job.tasks()[0].state, proto::TASK_CANCELED);
  EXPECT_EQ(job.tasks()[2].state, proto::TASK_FINISHED);
}

TEST(JobLifecycleTest, CancelStopsEveryLiveTask) {
  JobTracker job = ThreeTasks();
  job.OnDeployed().to_cancel.clear();
  Transition cancel = job.OnCancelRequested();
  EXPECT_TRUE(cancel.changed);
  EXPECT_EQ(job.state(), proto::JOB_CANCELED);
  EXPECT_EQ(Ids(cancel.to_cancel), (std::vector<std::string>{"j/g0.0", "j/g0.1", "j/g1.0"}));
  EXPECT_TRUE(job.failure().empty());
}

TEST(JobLifecycleTest, CanceledJobIgnoresLaterEvents) {
  JobTracker job = ThreeTasks();
  job.OnCancelRequested().to_cancel.clear();
  ASSERT_EQ(job.state(), proto::JOB_CANCELED);
  auto failed = job.OnTaskFailed(TaskId("j/g0.0"), "boom");
  ASSERT_TRUE(failed.ok());
  EXPECT_FALSE(failed->changed);
  EXPECT_TRUE(failed->to_cancel.empty());
  EXPECT_FALSE(job.OnDeployed().changed);
  EXPECT_FALSE(job.OnWorkerLost(WorkerId("w1")).changed);
  EXPECT_FALSE(job.OnCancelRequested().changed);
  EXPECT_EQ(job.state(), proto::JOB_CANCELED);
  EXPECT_TRUE(job.failure().empty());
}

TEST(JobLifecycleTest, FailedJobStaysFailedWithTheFirstReason) {
  JobTracker job = ThreeTasks();
  job.OnDeployed().to_cancel.clear();
  ASSERT_TRUE(job.OnTaskFailed(TaskId("j/g0.0"), "first").ok());
  ASSERT_TRUE(job.OnTaskFailed(TaskId("j/g1.0"), "second").ok());
  ASSERT_TRUE(job.OnTaskFinished(TaskId("j/g0.1")).ok());
  EXPECT_EQ(job.state(), proto::JOB_FAILED);
  EXPECT_EQ(job.failure(), "task j/g0.0 (read -> parse) failed: first");
}

TEST(JobLifecycleTest, LosingAWorkerWithTasksFailsTheJob) {
  JobTracker job = ThreeTasks();
  job.OnDeployed().to_cancel.clear();
  Transition lost = job.OnWorkerLost(WorkerId("w1"));
  EXPECT_TRUE(lost.changed);
  EXPECT_EQ(job.state(), proto::JOB_FAILED);
  EXPECT_EQ(Ids(lost.to_cancel), (std::vector<std::string>{"j/g0.1"}));  // the one on w2
  EXPECT_NE(job.failure().find("worker w1 was lost"), std::string::npos) << job.failure();
  EXPECT_NE(job.failure().find("j/g0.0 (read -> parse)"), std::string::npos) << job.failure();
  EXPECT_NE(job.failure().find("j/g1.0 (results)"), std::string::npos) << job.failure();
}

TEST(JobLifecycleTest, AWorkerThatLeftIsNamedAsSuch) {
  JobTracker job = ThreeTasks();
  job.OnDeployed().to_cancel.clear();
  EXPECT_TRUE(job.OnWorkerLost(WorkerId("w1"), "left (stopping)").changed);
  EXPECT_NE(job.failure().find("worker w1 left (stopping) while running"), std::string::npos)
      << job.failure();
}

TEST(JobLifecycleTest, LosingAnUnrelatedWorkerChangesNothing) {
  JobTracker job = ThreeTasks();
  job.OnDeployed().to_cancel.clear();
  Transition lost = job.OnWorkerLost(WorkerId("w9"));
  EXPECT_FALSE(lost.changed);
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  // A worker whose tasks of this job all finished is no loss either.
  ASSERT_TRUE(job.OnTaskFinished(TaskId("j/g0.1")).ok());
  EXPECT_FALSE(job.OnWorkerLost(WorkerId("w2")).changed);
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
}

TEST(JobLifecycleTest, UnknownTaskIsNotFound) {
  JobTracker job = ThreeTasks();
  auto finished = job.OnTaskFinished(TaskId("j/g9.0"));
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(job.OnTaskFailed(TaskId("nope"), "x").ok());
  EXPECT_EQ(job.state(), proto::JOB_CREATED);
}

}  // namespace
}  // namespace sluice::coordinator
