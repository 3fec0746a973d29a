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
  // The driver: a script whose value is a factory
  //   (fns, paramsJson, sourceConfigJson, nexmark, stats) => run
  // where run(first, stride, count) or run(text) processes one batch, returns
  // the JSON lines (or "" in count mode), writes records in/out to
  // stats[0]/stats[1] and, when it throws, the index of the stage that was
  // running to stats[2].
  std::string driver_source;
};

// Checks the chain's stages and generates its driver. Errors are user-domain
// and name the operator at fault.
Result<ChainProgram> BuildChainProgram(const ChainSpec &chain);

// "'name' (id)", how messages name an operator.
std::string DescribeStage(const StageSpec &stage);

}  // namespace sluice::js
