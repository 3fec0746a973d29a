#pragma once

#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "worker/js/js_engine.h"

namespace sluice::js {

// How a chain's stages are driven and which of them carry a user function.
enum class SourceKind {
  kText,       // RunText; stages[0] is a "source.file" stage or the first transform
  kGenerator,  // RunGenerated; stages[0] is "source.generator"
  kNexmark,    // RunGenerated; stages[0] is "source.nexmark"
};

// The JS program of one chain, before it is compiled: pure data, built without
// V8 so it can be tested alone. Stage index i of the driver is stages[i] of the
// ChainSpec; for a text chain without a "source.file" stage, index 0 is the
// transform stages[0] and the input lines have no stage of their own
// (has_source_stage is false).
struct ChainProgram {
  SourceKind source = SourceKind::kText;
  bool has_source_stage = false;
  // Per stage: its user functions by role ("fn", or e.g. "create"/"add" of an aggregate) as
  // source text; empty for none (nexmark, file source).
  std::vector<std::map<std::string, std::string>> functions;
  // Per ChainSpec::outputs entry (OutputMode::kPartitioned): the key selector's
  // source for a kHash edge, "" otherwise. Its errors name the last stage's
  // operator (output_key_stage; -1 when the chain has no stages: "the input").
  std::vector<std::string> output_key_fns;
  int output_key_stage = -1;
  // The keyed stage (runtime/README.md, "Keyed operators"), whose operator the input key
  // selectors' errors name; -1 when the chain has none. input_key_fns holds one key selector
  // per input of the chain.
  int input_key_stage = -1;
  std::vector<std::string> input_key_fns;
  // Every keyed stage, in chain order (input_key_stage first): keyed stage j keeps its state in
  // table 2j and its timers in table 2j + 1. Those after the first take their records inside
  // the chain, keyed by their StageSpec::chained_key_fn (env.chainKeyFns[stage]).
  std::vector<int> keyed_stages;
  // Per stage: where its records go (ChainSpec::dag: StageSpec::next; otherwise the next stage),
  // stage index stages.size() being the chain's output; and how many links lead into it.
  std::vector<std::vector<StageLink>> next;
  std::vector<int> links_in;
  // The driver: a script whose value is a factory `(env) => run`, where env holds
  //   fns         fns[i]: stage i's functions by role
  //   paramsJson, sourceConfigJson   the job's params, the source stage's config
  //   nexmark     runtime/nexmark.js (a nexmark source), keys (runtime/keys.js), codec
  //   stats       a Float64Array of DriverStat slots, named STAT.<name> in the driver
  //   inKeyFns, outKeyFns   the key selectors of the inputs and of the output edges
  //   chainKeyFns  chainKeyFns[i]: the chained key selector of keyed stage i after the first
  //   linkKeyFns   in a DAG chain, linkKeyFns[i][input]: keyed stage i's for that input
  //   rt          the runtime libraries the keyed stages need ({ timers, state, windows | joins
  //               | process | keyed, stateNative })
  // run(first, stride, count) or run(text, header, nums, strs, input) processes one batch and
  // run.advance(watermark, now) moves time on (see ChainRunner); each fills the stats and
  // returns the JSON lines ("" in count mode) or, with kPartitioned, an array per output edge
  // of one batch per target. run.flush() writes the keyed state's dirty entries to the backend;
  // run.snapshot() writes the keyed operators' timers to their tables (2j + 1) and flushes
  // (ChainRunner::SnapshotState). With ChainSpec::restore_state the factory reads the timers
  // back from those tables. It starts with a comment naming the chain's stages, input and output.
  std::string driver_source;
};

// The driver's stats: slots of a Float64Array that the driver fills after every call and the
// runner reads (V8ChainRunner::Finish). The driver names a slot STAT.<js_name>.
enum class DriverStat : int {
  kRecordsIn,       // records that entered the chain in the call
  kRecordsOut,      // records that left it
  kRunningStage,    // the stage that was running when the call threw (errors name it)
  kOutputWatermark,  // the chain's output watermark
  kOutputIdle,      // 1 while the chain's output is idle
  kLateDropped,     // late records the keyed operator dropped (cumulative)
  kLateSideOutput,  // late records it sent to its side output (cumulative)
  kCount,
};
struct DriverStatName {
  DriverStat stat;
  const char *js_name;
};
inline constexpr DriverStatName kDriverStats[] = {
    {DriverStat::kRecordsIn, "recordsIn"},
    {DriverStat::kRecordsOut, "recordsOut"},
    {DriverStat::kRunningStage, "runningStage"},
    {DriverStat::kOutputWatermark, "outputWatermark"},
    {DriverStat::kOutputIdle, "outputIdle"},
    {DriverStat::kLateDropped, "lateDropped"},
    {DriverStat::kLateSideOutput, "lateSideOutput"},
};
static_assert(std::size(kDriverStats) == static_cast<size_t>(DriverStat::kCount));

// Checks the chain's stages and generates its driver. Errors are user-domain
// and name the operator at fault.
Result<ChainProgram> BuildChainProgram(const ChainSpec &chain);

// The runtime library (runtime/README.md) of a keyed operator kind, or "" for other kinds.
std::string KeyedLibrary(const std::string &kind);

// The runtime libraries a chain's driver gets in `rt`, by name: its keyed stage's, and
// window_config and combiner when an output edge pre-aggregates (runtime/combiner.js).
std::vector<std::string> RuntimeLibraries(const ChainSpec &chain, const ChainProgram &program);

// The runtime libraries keyed stage k gets a copy of its own, compiled apart from `rt`'s (in
// `rt.stage<k>`, whose prototype is `rt`): its library and, for windows, the window
// operator's parts, when an earlier keyed stage of the chain uses the same library; else none.
// V8 learns from each call site what it calls, and a site that has seen two operators' user
// functions (or accessors) calls them the slow way; apart, each operator's sites see its own.
std::vector<std::string> OwnRuntimeLibraries(const ChainSpec &chain, const ChainProgram &program,
                                             int k);

// The value of the current-stage variable while a chained keyed stage's key selector runs
// (ChainSpec::keyed_input_in_chain): errors name the keyed operator's key selector, as the
// sending side of an exchange does.
inline constexpr int kInputKeyStageBase = -2000;
inline constexpr int kCombinerStageBase = -3000;
inline int InputKeyStage(int stage) { return kInputKeyStageBase - stage; }
// The keyed stage of such a stage value, or -1.
inline int InputKeyOf(int stage) {
  return stage <= kInputKeyStageBase && stage > kCombinerStageBase ? kInputKeyStageBase - stage
                                                                    : -1;
}

// The value of the current-stage variable while output edge `edge`'s combiner runs the window
// operator's functions (runtime/combiner.js): errors name that operator, pre-aggregating.
inline int CombinerStage(size_t edge) { return kCombinerStageBase - static_cast<int>(edge); }
// The output edge of such a stage value, or -1.
inline int CombinerEdge(int stage) {
  return stage <= kCombinerStageBase ? kCombinerStageBase - stage : -1;
}

// The value of the driver's current-stage variable while output edge `edge`'s key selector
// runs (and its key is checked), so that errors name the operator the edge feeds.
inline constexpr int kOutputKeyStageBase = -1000;
inline int OutputKeyStage(size_t edge) { return kOutputKeyStageBase - static_cast<int>(edge); }
// The output edge of such a stage value, or -1.
inline int OutputKeyEdge(int stage) {
  return stage <= kOutputKeyStageBase && stage > kInputKeyStageBase ? kOutputKeyStageBase - stage
                                                                     : -1;
}

// "'name' (id)", how messages name an operator.
std::string DescribeStage(const StageSpec &stage);

}  // namespace sluice::js
