#pragma once

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
  // Per stage: the user function's source text, or "" for none (nexmark, file
  // source).
  std::vector<std::string> functions;
  // Per ChainSpec::outputs entry (OutputMode::kPartitioned): the key selector's
  // source for a kHash edge, "" otherwise. Its errors name the last stage's
  // operator (output_key_stage; -1 when the chain has no stages: "the input").
  std::vector<std::string> output_key_fns;
  int output_key_stage = -1;
  // The first "reduce" stage, whose operator ChainSpec::input_key_fn's errors
  // name; -1 when the chain has no reduce stage (the key selector is unused).
  int input_key_stage = -1;
  // The driver: a script whose value is a factory
  //   (fns, paramsJson, sourceConfigJson, nexmark, stats, keys, inKeyFn,
  //    outKeyFns) => run
  // where run(first, stride, count) or run(text) processes one batch, writes
  // records in/out to stats[0]/stats[1] and, when it throws, the index of the
  // stage that was running to stats[2]. It returns the JSON lines ("" in count
  // mode) or, with kPartitioned, an array per output edge of one string of JSON
  // lines per target. `keys` is runtime/keys.js.
  //
  // Keyed state: each "reduce" stage i keeps run.state.stages[i], a Map from
  // key string (keys.keyString of input_key_fn's result) to the accumulated
  // value, for the runner's lifetime. A key's key group is derived, not stored:
  // run.state.keyGroupOf(keyString) (= keys.keyGroupOfString(keyString,
  // max_parallelism)), so state can be split by key group when it moves.
  // Every reduce stage of the chain uses the key of the record that entered
  // the chain (computed once, when the first reduce stage needs it), which is
  // the key the HASH exchange feeding the chain partitioned it by.
  std::string driver_source;
};

// Checks the chain's stages and generates its driver. Errors are user-domain
// and name the operator at fault.
Result<ChainProgram> BuildChainProgram(const ChainSpec &chain);

// "'name' (id)", how messages name an operator.
std::string DescribeStage(const StageSpec &stage);

}  // namespace sluice::js
