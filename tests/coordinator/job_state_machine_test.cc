#include "coordinator/job_state_machine.h"

#include <gtest/gtest.h>

namespace sluice::coordinator {
namespace {

using E = LifecycleEvent;

proto::JobState Next(proto::JobState from, E event) {
  auto next = NextLifecycleState(from, event);
  EXPECT_TRUE(next.ok()) << next.status().message();
  return next.ok() ? *next : proto::JOB_STATE_UNSPECIFIED;
}

TEST(JobStateMachineTest, AJobRunsThroughSchedulingAndRestartingToAnEnd) {
  JobLifecycle job;
  EXPECT_EQ(job.state(), proto::JOB_CREATED);
  ASSERT_TRUE(job.Apply(E::kDeployed).ok());
  EXPECT_EQ(job.state(), proto::JOB_RUNNING);
  ASSERT_TRUE(job.Apply(E::kFailedRestart).ok());
  EXPECT_EQ(job.state(), proto::JOB_RESTARTING);
  ASSERT_TRUE(job.Apply(E::kRestartDue).ok());
  EXPECT_EQ(job.state(), proto::JOB_SCHEDULING);
  ASSERT_TRUE(job.Apply(E::kWaitForSlots).ok());
  EXPECT_EQ(job.state(), proto::JOB_SCHEDULING);
  ASSERT_TRUE(job.Apply(E::kDeployed).ok());
  ASSERT_TRUE(job.Apply(E::kAllTasksFinished).ok());
  EXPECT_EQ(job.state(), proto::JOB_FINISHED);
  EXPECT_TRUE(job.terminal());
}

TEST(JobStateMachineTest, CancelGoesThroughCancelling) {
  for (auto from : {proto::JOB_CREATED, proto::JOB_SCHEDULING, proto::JOB_RUNNING,
                    proto::JOB_RESTARTING}) {
    EXPECT_EQ(Next(from, E::kCancelRequested), proto::JOB_CANCELLING) << JobStateName(from);
  }
  EXPECT_EQ(Next(proto::JOB_CANCELLING, E::kCancelDone), proto::JOB_CANCELED);
  // A coordinator that restarts mid-cancel finishes the cancel rather than resuming the job.
  EXPECT_EQ(Next(proto::JOB_CANCELLING, E::kResumed), proto::JOB_CANCELLING);
}

TEST(JobStateMachineTest, AResumedJobWaitsForSlotsWhateverLiveStateItWasIn) {
  for (auto from : {proto::JOB_CREATED, proto::JOB_SCHEDULING, proto::JOB_RUNNING,
                    proto::JOB_RESTARTING}) {
    EXPECT_TRUE(IsResumable(from));
    EXPECT_EQ(Next(from, E::kResumed), proto::JOB_SCHEDULING) << JobStateName(from);
  }
  EXPECT_FALSE(IsResumable(proto::JOB_CANCELLING));
}

TEST(JobStateMachineTest, TerminalStatesRefuseEveryEvent) {
  for (auto terminal : {proto::JOB_FINISHED, proto::JOB_FAILED, proto::JOB_CANCELED}) {
    EXPECT_TRUE(IsJobTerminal(terminal));
    EXPECT_FALSE(IsResumable(terminal));
    for (auto event : {E::kWaitForSlots, E::kDeployed, E::kAllTasksFinished, E::kFailedRestart,
                       E::kFailedFinal, E::kRestartDue, E::kCancelRequested, E::kCancelDone,
                       E::kResumed}) {
      JobLifecycle job(terminal);
      Status moved = job.Apply(event);
      EXPECT_FALSE(moved.ok()) << LifecycleEventName(event);
      EXPECT_EQ(job.state(), terminal);
    }
  }
}

TEST(JobStateMachineTest, AnEventTheTableLacksIsRefusedNamingStateAndEvent) {
  JobLifecycle job(proto::JOB_RESTARTING);
  Status moved = job.Apply(E::kDeployed);  // a restart is placed through SCHEDULING
  ASSERT_FALSE(moved.ok());
  EXPECT_NE(moved.message().find("restarting"), std::string::npos) << moved.message();
  EXPECT_NE(moved.message().find("deployed"), std::string::npos) << moved.message();
  EXPECT_EQ(job.state(), proto::JOB_RESTARTING);
  EXPECT_FALSE(NextLifecycleState(proto::JOB_RUNNING, E::kCancelDone).ok());
}

proto::RestartStrategy Strategy(uint32_t attempts, uint64_t delay_ms) {
  proto::RestartStrategy strategy;
  strategy.set_max_attempts(attempts);
  strategy.set_delay_ms(delay_ms);
  return strategy;
}

TEST(FailurePolicyTest, UserCodeErrorsFailAtOnceUnlessTheJobAsksForRestarts) {
  auto implicit = DecideOnFailure(Strategy(10, 1000), false, 0, 0, proto::FAILURE_USER);
  EXPECT_FALSE(implicit.restart);
  EXPECT_NE(implicit.why.find("not retried"), std::string::npos) << implicit.why;
  auto asked = DecideOnFailure(Strategy(3, 100), true, 0, 0, proto::FAILURE_USER);
  EXPECT_TRUE(asked.restart);
  EXPECT_EQ(asked.delay_ms, 100u);
}

TEST(FailurePolicyTest, ExternalFailuresRestartWithBackoffUntilAttemptsRunOut) {
  EXPECT_EQ(DecideOnFailure(Strategy(10, 200), false, 0, 0, proto::FAILURE_EXTERNAL).delay_ms,
            200u);
  EXPECT_EQ(DecideOnFailure(Strategy(10, 200), false, 3, 3, proto::FAILURE_EXTERNAL).delay_ms,
            1600u);
  EXPECT_EQ(DecideOnFailure(Strategy(10, 1000), false, 9, 9, proto::FAILURE_EXTERNAL).delay_ms,
            kMaxRestartDelayMs);
  auto exhausted = DecideOnFailure(Strategy(2, 200), false, 2, 0, proto::FAILURE_EXTERNAL);
  EXPECT_FALSE(exhausted.restart);
  EXPECT_NE(exhausted.why.find("after 2 restarts"), std::string::npos);
  EXPECT_FALSE(DecideOnFailure(Strategy(0, 0), false, 0, 0, proto::FAILURE_INTERNAL).restart);
}

}  // namespace
}  // namespace sluice::coordinator
