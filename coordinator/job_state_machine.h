#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/job.pb.h"
#include "sluice/job_service.pb.h"

namespace sluice::coordinator {

// What moves a job from one lifecycle state to the next (see kJobTransitions in the .cc).
enum class LifecycleEvent {
  kWaitForSlots,     // no slots for the next attempt (yet): wait for workers
  kDeployed,         // every task of the attempt was handed to its worker
  kAllTasksFinished, // the attempt's last task finished (bounded sources ran dry)
  kFailedRestart,    // the attempt failed and the failure policy says restart
  kFailedFinal,      // the attempt failed and the failure policy says give up
  kRestartDue,       // the restart delay passed: place the next attempt
  kCancelRequested,  // a client asked to cancel
  kCancelDone,       // every live task of the job was told to cancel
  kResumed,          // a restarted coordinator took the job over from its data dir
};

const char* LifecycleEventName(LifecycleEvent event);
// CREATED ... CANCELED in lower case, as `sluice status` shows them.
std::string JobStateName(proto::JobState state);
// FINISHED, CANCELED and FAILED: no event leaves them.
bool IsJobTerminal(proto::JobState state);
// Whether a job in this state has (or is about to have) tasks running or placed: the states a
// restarted coordinator resumes (CANCELLING jobs are finished off instead).
bool IsResumable(proto::JobState state);

// The job lifecycle as one transition table (CREATED, SCHEDULING, RUNNING, RESTARTING,
// CANCELLING, FINISHED, FAILED, CANCELED): the state after `event`, or FailedPrecondition
// naming both when the table has no such transition. Pure.
[[nodiscard]] Result<proto::JobState> NextLifecycleState(proto::JobState from,
                                                         LifecycleEvent event);

// One job's lifecycle state. The coordinator applies an event, persists the job record, and only
// then performs the transition's side effects (deploys, cancels, commits), so a coordinator that
// dies at any point finds on disk a state whose side effects are safe to redo. Pure, not
// thread-safe: the owner (the coordinator's job record) serialises calls under its lock.
class JobLifecycle {
 public:
  explicit JobLifecycle(proto::JobState initial = proto::JOB_CREATED) : state_(initial) {}

  // Moves to the next state; on error (the event is not allowed here) nothing changes.
  [[nodiscard]] Status Apply(LifecycleEvent event);
  proto::JobState state() const { return state_; }
  bool terminal() const { return IsJobTerminal(state_); }

 private:
  proto::JobState state_;
};

// What to do about a failed attempt.
struct FailureDecision {
  bool restart = false;
  uint64_t delay_ms = 0;
  std::string why;  // why not, when restart is false and restarts were possible
};

// The failure policy, pure. An error in user code fails the job at once (restarting would hit
// the same line again) unless the job asked for restarts explicitly (`explicit_strategy`).
// Other failures restart while attempts are left, after `strategy.delay_ms` doubled for every
// consecutive failure since the last completed checkpoint (capped at kMaxRestartDelayMs), so a
// flapping external system is not hammered.
inline constexpr uint64_t kMaxRestartDelayMs = 30000;
FailureDecision DecideOnFailure(const proto::RestartStrategy& strategy, bool explicit_strategy,
                                uint32_t restarts, uint64_t consecutive_failures,
                                proto::FailureDomain domain);

proto::FailureDomain ToFailureDomain(ErrorDomain domain);

}  // namespace sluice::coordinator
