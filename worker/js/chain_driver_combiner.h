#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "worker/js/chain_program.h"
#include "worker/js/js_writer.h"

namespace sluice::js {

// The driver's parts for combiners (runtime/combiner.js), written by WriteDriver: on the sending
// side an output edge with a combiner hands its records to `C<e>` (one Combiner per edge, as
// long as the runner) instead of its codec targets, and C<e> sends its partial accumulators
// and records on to the targets when they must go (at the end of a call that sends a watermark
// reaching one of their windows, and before a barrier); on the receiving side
// (ChainSpec::combined_input) the keyed window operator merges the partials it gets.

// Whether output edge `e` pre-aggregates: it has a combiner and encodes columnar batches (the
// only encoding that carries event times).
bool Combines(const ChainSpec &chain, size_t e);
// Whether any output edge does (the runner then loads runtime/combiner.js).
bool AnyCombines(const ChainSpec &chain);

// Set-up: `const C<e> = new rt.combiner.Combiner(...)` per combining edge; the window operator's
// functions are fns[stages + e] (V8ChainRunner compiles them).
void EmitCombinerSetup(const ChainSpec &chain, JsWriter &w);
// In begin(): each combiner learns the watermark last sent and whether the output is idle.
void EmitCombinerBegin(const ChainSpec &chain, JsWriter &w);
// Before a call's guard closes: every combiner sends what it holds if it must go before the
// watermark the call sends (combiner.js end()), named after the last stage.
void EmitCombinerEnd(const ChainSpec &chain, JsWriter &w);
// run.release(): every combiner sends what it holds (before a barrier); null when none holds
// anything (and always without combiners), else the call's result as finish() makes it.
// running_stage: the stats slot a failed call names its stage in.
void EmitCombinerRelease(const ChainSpec &chain, const std::string &running_stage, JsWriter &w);
// Record `var` with event time `time` into edge e's combiner; its key is taken and checked
// under the edge's key-selector stage, as the targets' partitioning does.
void EmitCombinerAdd(const ChainSpec &chain, size_t e, const std::string &var,
                     const std::string &time, JsWriter &w);
// The keyed stage i's call when the chain's input may carry partials: opens
// `if (<var> is a partial) { processPartial under its own key } else {`; the caller writes the
// usual call and closes the block.
void EmitPartialBranch(size_t i, const std::string &var, const std::string &time, JsWriter &w);

}  // namespace sluice::js
