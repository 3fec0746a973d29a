#pragma once

#include <string>
#include <vector>

#include "sluice/job.pb.h"
#include "worker/js/js_engine.h"

namespace sluice::runtime {

// Whether the job's edges between `operators` (a task's, upstream first) make more than a line:
// a fan-out, a union or a join's two inputs inside the task (coordinator/planner.h).
bool IsDagChain(const proto::JobSpec& job, const std::vector<const proto::Operator*>& operators);

// Makes `spec` a DAG chain (js::ChainSpec::dag): each stage's StageSpec::next from the job's
// edges between `operators`, and each keyed stage's chained key selectors. `stage_of[i]` is the
// first stage of operators[i], or -1 for an operator without a stage (a union: records pass
// through it to its own targets); a sink without stages of its own has spec.stages.size().
// A keyed first stage that is the chain's entry keeps the chain's input key selectors.
void LinkDagChain(const proto::JobSpec& job, const std::vector<const proto::Operator*>& operators,
                  const std::vector<int>& stage_of, js::ChainSpec& spec);

}  // namespace sluice::runtime
