#include "coordinator/job_state_machine.h"

#include <algorithm>
#include <cctype>

namespace sluice::coordinator {
namespace {

using proto::JobState;

struct Row {
  JobState from;
  LifecycleEvent event;
  JobState to;
};

// The whole lifecycle. A job is CREATED when admitted; SCHEDULING while its next attempt waits
// for slots; RUNNING once deployed; RESTARTING between a failed attempt and the next one;
// CANCELLING between a cancel request and its tasks being told. A restarted coordinator resumes
// a live job through SCHEDULING (it waits for workers to re-register).
constexpr Row kJobTransitions[] = {
    {proto::JOB_CREATED, LifecycleEvent::kWaitForSlots, proto::JOB_SCHEDULING},
    {proto::JOB_CREATED, LifecycleEvent::kDeployed, proto::JOB_RUNNING},
    {proto::JOB_CREATED, LifecycleEvent::kAllTasksFinished, proto::JOB_FINISHED},
    {proto::JOB_CREATED, LifecycleEvent::kFailedRestart, proto::JOB_RESTARTING},
    {proto::JOB_CREATED, LifecycleEvent::kFailedFinal, proto::JOB_FAILED},
    {proto::JOB_CREATED, LifecycleEvent::kCancelRequested, proto::JOB_CANCELLING},
    {proto::JOB_CREATED, LifecycleEvent::kResumed, proto::JOB_SCHEDULING},

    {proto::JOB_SCHEDULING, LifecycleEvent::kWaitForSlots, proto::JOB_SCHEDULING},
    {proto::JOB_SCHEDULING, LifecycleEvent::kDeployed, proto::JOB_RUNNING},
    {proto::JOB_SCHEDULING, LifecycleEvent::kAllTasksFinished, proto::JOB_FINISHED},
    {proto::JOB_SCHEDULING, LifecycleEvent::kFailedRestart, proto::JOB_RESTARTING},
    {proto::JOB_SCHEDULING, LifecycleEvent::kFailedFinal, proto::JOB_FAILED},
    {proto::JOB_SCHEDULING, LifecycleEvent::kCancelRequested, proto::JOB_CANCELLING},
    {proto::JOB_SCHEDULING, LifecycleEvent::kResumed, proto::JOB_SCHEDULING},

    {proto::JOB_RUNNING, LifecycleEvent::kAllTasksFinished, proto::JOB_FINISHED},
    {proto::JOB_RUNNING, LifecycleEvent::kFailedRestart, proto::JOB_RESTARTING},
    {proto::JOB_RUNNING, LifecycleEvent::kFailedFinal, proto::JOB_FAILED},
    {proto::JOB_RUNNING, LifecycleEvent::kCancelRequested, proto::JOB_CANCELLING},
    {proto::JOB_RUNNING, LifecycleEvent::kResumed, proto::JOB_SCHEDULING},

    {proto::JOB_RESTARTING, LifecycleEvent::kRestartDue, proto::JOB_SCHEDULING},
    {proto::JOB_RESTARTING, LifecycleEvent::kCancelRequested, proto::JOB_CANCELLING},
    {proto::JOB_RESTARTING, LifecycleEvent::kResumed, proto::JOB_SCHEDULING},

    {proto::JOB_CANCELLING, LifecycleEvent::kCancelDone, proto::JOB_CANCELED},
    {proto::JOB_CANCELLING, LifecycleEvent::kCancelRequested, proto::JOB_CANCELLING},
    {proto::JOB_CANCELLING, LifecycleEvent::kResumed, proto::JOB_CANCELLING},
};

}  // namespace

const char* LifecycleEventName(LifecycleEvent event) {
  switch (event) {
    case LifecycleEvent::kWaitForSlots: return "wait-for-slots";
    case LifecycleEvent::kDeployed: return "deployed";
    case LifecycleEvent::kAllTasksFinished: return "all-tasks-finished";
    case LifecycleEvent::kFailedRestart: return "failed-restart";
    case LifecycleEvent::kFailedFinal: return "failed-final";
    case LifecycleEvent::kRestartDue: return "restart-due";
    case LifecycleEvent::kCancelRequested: return "cancel-requested";
    case LifecycleEvent::kCancelDone: return "cancel-done";
    case LifecycleEvent::kResumed: return "resumed";
  }
  return "?";
}

std::string JobStateName(proto::JobState state) {
  std::string name = proto::JobState_Name(state);
  if (name.rfind("JOB_", 0) == 0) name = name.substr(4);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

bool IsJobTerminal(proto::JobState state) {
  return state == proto::JOB_FINISHED || state == proto::JOB_CANCELED ||
         state == proto::JOB_FAILED;
}

bool IsResumable(proto::JobState state) {
  return state == proto::JOB_CREATED || state == proto::JOB_SCHEDULING ||
         state == proto::JOB_RUNNING || state == proto::JOB_RESTARTING ||
         state == proto::JOB_STATE_UNSPECIFIED;
}

Result<proto::JobState> NextLifecycleState(proto::JobState from, LifecycleEvent event) {
  for (const Row& row : kJobTransitions) {
    if (row.from == from && row.event == event) return row.to;
  }
  return Status::FailedPrecondition("a " + JobStateName(from) + " job cannot take the event " +
                                    LifecycleEventName(event));
}

Status JobLifecycle::Apply(LifecycleEvent event) {
  auto next = NextLifecycleState(state_, event);
  if (!next.ok()) return next.status();
  state_ = *next;
  return Status::Ok();
}

FailureDecision DecideOnFailure(const proto::RestartStrategy& strategy, bool explicit_strategy,
                                uint32_t restarts, uint64_t consecutive_failures,
                                proto::FailureDomain domain) {
  FailureDecision decision;
  if (restarts >= strategy.max_attempts()) {
    if (strategy.max_attempts() > 0) {
      decision.why = "after " + std::to_string(restarts) + " restarts";
    }
    return decision;
  }
  if (domain == proto::FAILURE_USER && !explicit_strategy) {
    decision.why =
        "an error in the job's code is not retried (give the job a restart strategy to retry it)";
    return decision;
  }
  uint64_t delay = strategy.delay_ms();
  for (uint64_t i = 0; i < consecutive_failures && delay < kMaxRestartDelayMs; ++i) delay *= 2;
  decision.restart = true;
  decision.delay_ms = std::min(delay, std::max(kMaxRestartDelayMs, strategy.delay_ms()));
  return decision;
}

proto::FailureDomain ToFailureDomain(ErrorDomain domain) {
  switch (domain) {
    case ErrorDomain::kUser: return proto::FAILURE_USER;
    case ErrorDomain::kExternal: return proto::FAILURE_EXTERNAL;
    case ErrorDomain::kInternal: return proto::FAILURE_INTERNAL;
    case ErrorDomain::kNone: return proto::FAILURE_DOMAIN_UNSPECIFIED;
  }
  return proto::FAILURE_DOMAIN_UNSPECIFIED;
}

}  // namespace sluice::coordinator
