// The names V8ChainRunner gives the scripts it compiles into a chain's isolate: V8 reports them
// in stack traces, and the runner maps each back to the stage and role an error names
// (v8_chain_runner.h, scripts_). Internal to the runner's files.
#pragma once

#include <cstddef>
#include <string>

#include "worker/js/js_engine.h"

namespace sluice::js::scripts {

constexpr char kDriverScript[] = "sluice-runtime:driver";
constexpr char kNexmarkScript[] = "sluice-runtime:nexmark";
constexpr char kKeysScript[] = "sluice-runtime:keys";
constexpr char kCodecScript[] = "sluice-runtime:codec";
constexpr char kCodecDecodeScript[] = "sluice-runtime:codec_decode";
constexpr char kRuntimePrefix[] = "sluice-runtime:";
inline std::string OwnLibraryScriptName(const std::string &name, int k) {  // OwnRuntimeLibraries
  return kRuntimePrefix + name + "@" + std::to_string(k);
}
constexpr char kFunctionRole[] = "function";
constexpr char kKeyRole[] = "key selector";

inline std::string ScriptNameFor(const StageSpec &stage) { return "sluice:" + stage.operator_id; }

// "sluice:op3" for a stage's "fn", "sluice:op3:add" for its other roles.
inline std::string FunctionScriptName(const StageSpec &stage, const std::string &role) {
  return role == "fn" ? ScriptNameFor(stage) : ScriptNameFor(stage) + ":" + role;
}

inline std::string InputKeyScriptName(const ChainSpec &chain, int stage, size_t input) {
  return ScriptNameFor(chain.stages[stage]) + ":key" + (input == 0 ? "" : std::to_string(input));
}

// Named after the last stage, whose operator the key selector's errors name.
inline std::string OutputKeyScriptName(const ChainSpec &chain, size_t edge) {
  const std::string owner = chain.stages.empty() ? "sluice:" : ScriptNameFor(chain.stages.back());
  return owner + ":output" + std::to_string(edge) + ":key";
}

}  // namespace sluice::js::scripts
