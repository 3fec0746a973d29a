// Compiling into a chain's isolate: the user's functions and key selectors, the runtime
// libraries and the codec, each under the script name its errors are reported by
// (v8_chain_scripts.h). Part of V8ChainRunner (v8_chain_runner.h).
#include <v8-container.h>
#include <v8-primitive.h>
#include <v8-script.h>

#include <string>
#include <vector>

#include "worker/js/chain_driver_combiner.h"
#include "worker/js/runtime/runtime_sources.h"
#include "worker/js/state_probe.h"
#include "worker/js/v8_batch_io.h"
#include "worker/js/v8_chain_runner.h"
#include "worker/js/v8_chain_scripts.h"
#include "worker/js/v8_state_binding.h"

namespace sluice::js {

using namespace scripts;  // NOLINT: the script names are this file's vocabulary

Status V8ChainRunner::CompileCodec(v8::Local<v8::Context> context, v8::Local<v8::Value> *codec) {
  v8::Local<v8::Value> halves[2];
  SLUICE_RETURN_IF_ERROR(Compile(context, std::string(runtime::CodecJs()), kCodecScript,
                                 kChainStage, &halves[0]));
  SLUICE_RETURN_IF_ERROR(Compile(context, std::string(runtime::RuntimeJs("codec_decode")),
                                 kCodecDecodeScript, kChainStage, &halves[1]));
  v8::Local<v8::Object> merged = v8::Object::New(isolate_);
  for (v8::Local<v8::Value> half : halves) {
    if (!half->IsObject()) return Status::Internal("a codec script's value is no object");
    v8::Local<v8::Object> library = half.As<v8::Object>();
    v8::Local<v8::Array> names;
    if (!library->GetOwnPropertyNames(context).ToLocal(&names)) {
      return Status::Internal("cannot list the codec's functions");
    }
    for (uint32_t i = 0; i < names->Length(); ++i) {
      v8::Local<v8::Value> name = names->Get(context, i).ToLocalChecked();
      merged->Set(context, name, library->Get(context, name).ToLocalChecked()).Check();
    }
  }
  *codec = merged;
  return Status::Ok();
}

Status V8ChainRunner::CompileFunction(v8::Local<v8::Context> context, const std::string &text,
                                      const std::string &resource_name, int stage,
                                      v8::Local<v8::Value> *fn) {
  // "(" on the function's first line keeps V8's line numbers equal to the
  // user's.
  SLUICE_RETURN_IF_ERROR(Compile(context, "(" + text + "\n)", resource_name, stage, fn));
  if (!(*fn)->IsFunction()) {
    const ScriptInfo &info = scripts_.at(resource_name);
    return Status::User(Name(stage) + ": its " + (info.role == kKeyRole ? "key selector's " : "") +
                        "source is not a function expression (it is a " +
                        StdString(isolate_, (*fn)->TypeOf(isolate_)) + ")");
  }
  if ((*fn)->IsAsyncFunction()) {
    return Status::User(Name(stage) + ": its function is async: it would return a Promise, and " +
                        "Sluice calls functions synchronously; remove 'async' and 'await'");
  }
  return Status::Ok();
}

Status V8ChainRunner::AddUserFunctions(v8::Local<v8::Context> context,
                                       v8::Local<v8::Object> env) {
  // fns[i]: stage i's functions; fns[stages + e]: those of the window operator output edge e
  // pre-aggregates for (chain_driver_combiner.h).
  const int num_stages = static_cast<int>(chain_.stages.size());
  v8::Local<v8::Array> fns = v8::Array::New(isolate_, num_stages);
  for (int i = 0; i < num_stages + static_cast<int>(chain_.outputs.size()); ++i) {
    const bool stage = i < num_stages;
    if (!stage && !Combines(chain_, i - num_stages)) continue;
    const StageSpec &owner = stage ? chain_.stages[i] : *chain_.outputs[i - num_stages].combiner;
    v8::Local<v8::Object> roles = v8::Object::New(isolate_);
    for (const auto &[role, text] : stage ? program_.functions[i] : owner.functions) {
      v8::Local<v8::Value> fn;
      SLUICE_RETURN_IF_ERROR(CompileFunction(context, text, FunctionScriptName(owner, role),
                                             stage ? i : CombinerStage(i - num_stages), &fn));
      roles->Set(context, V8String(isolate_, role), fn).Check();
    }
    fns->Set(context, i, roles).Check();
  }
  const int num_inputs = static_cast<int>(program_.input_key_fns.size());
  v8::Local<v8::Array> in_key_fns = v8::Array::New(isolate_, num_inputs);
  for (int input = 0; input < num_inputs; ++input) {
    v8::Local<v8::Value> fn;
    SLUICE_RETURN_IF_ERROR(CompileFunction(
        context, program_.input_key_fns[input],
        InputKeyScriptName(chain_, program_.input_key_stage, input), program_.input_key_stage,
        &fn));
    in_key_fns->Set(context, input, fn).Check();
  }
  // chainKeyFns[k]: the key selector of the chained keyBy feeding keyed stage k (after the
  // first), compiled as that stage's; its errors name its key selector. In a DAG chain,
  // linkKeyFns[k][input] instead: every keyed stage's, per input.
  v8::Local<v8::Array> chain_key_fns = v8::Array::New(isolate_, num_stages);
  v8::Local<v8::Array> link_key_fns = v8::Array::New(isolate_, num_stages);
  for (int k : program_.keyed_stages) {
    if (!chain_.dag) break;
    const std::vector<std::string> &selectors = chain_.stages[k].chained_key_fns;
    v8::Local<v8::Array> by_input = v8::Array::New(isolate_, static_cast<int>(selectors.size()));
    for (uint32_t in = 0; in < selectors.size(); ++in) {
      v8::Local<v8::Value> fn;
      SLUICE_RETURN_IF_ERROR(
          CompileFunction(context, selectors[in], InputKeyScriptName(chain_, k, in), k, &fn));
      by_input->Set(context, in, fn).Check();
    }
    link_key_fns->Set(context, k, by_input).Check();
  }
  env->Set(context, V8String(isolate_, "linkKeyFns"), link_key_fns).Check();
  for (size_t j = 1; j < program_.keyed_stages.size() && !chain_.dag; ++j) {
    const int k = program_.keyed_stages[j];
    v8::Local<v8::Value> fn;
    SLUICE_RETURN_IF_ERROR(CompileFunction(context, chain_.stages[k].chained_key_fn,
                                           InputKeyScriptName(chain_, k, 0), k, &fn));
    chain_key_fns->Set(context, k, fn).Check();
  }
  env->Set(context, V8String(isolate_, "chainKeyFns"), chain_key_fns).Check();
  const int num_outputs = static_cast<int>(program_.output_key_fns.size());
  v8::Local<v8::Array> out_key_fns = v8::Array::New(isolate_, num_outputs);
  for (int e = 0; e < num_outputs; ++e) {
    if (program_.output_key_fns[e].empty()) continue;
    v8::Local<v8::Value> fn;
    SLUICE_RETURN_IF_ERROR(CompileFunction(context, program_.output_key_fns[e],
                                           OutputKeyScriptName(chain_, e),
                                           program_.output_key_stage, &fn));
    out_key_fns->Set(context, e, fn).Check();
  }
  env->Set(context, V8String(isolate_, "fns"), fns).Check();
  env->Set(context, V8String(isolate_, "inKeyFns"), in_key_fns).Check();
  env->Set(context, V8String(isolate_, "outKeyFns"), out_key_fns).Check();
  return Status::Ok();
}

Status V8ChainRunner::AddRuntimeLibraries(v8::Local<v8::Context> context,
                                          v8::Local<v8::Object> env) {
  v8::Local<v8::Value> nexmark = v8::Undefined(isolate_);
  if (program_.source == SourceKind::kNexmark) {
    SLUICE_RETURN_IF_ERROR(
        Compile(context, std::string(runtime::NexmarkJs()), kNexmarkScript, 0, &nexmark));
  }
  v8::Local<v8::Value> keys;
  SLUICE_RETURN_IF_ERROR(
      Compile(context, std::string(runtime::KeysJs()), kKeysScript, kChainStage, &keys));
  v8::Local<v8::Value> codec;
  SLUICE_RETURN_IF_ERROR(CompileCodec(context, &codec));
  v8::Local<v8::Object> rt = v8::Object::New(isolate_);
  for (const std::string &name : RuntimeLibraries(chain_, program_)) {
    v8::Local<v8::Value> library;
    SLUICE_RETURN_IF_ERROR(Compile(context, std::string(runtime::RuntimeJs(name)),
                                   kRuntimePrefix + name, kChainStage, &library));
    rt->Set(context, V8String(isolate_, name), library).Check();
  }
  for (int k : program_.keyed_stages) {  // rt.stage<k>: a keyed stage's own copies
    const std::vector<std::string> own = OwnRuntimeLibraries(chain_, program_, k);
    if (own.empty()) continue;
    v8::Local<v8::Object> stage_rt = v8::Object::New(isolate_);
    stage_rt->SetPrototype(context, rt).Check();
    rt->Set(context, V8String(isolate_, "stage" + std::to_string(k)), stage_rt).Check();
    for (const std::string &name : own) {
      v8::Local<v8::Value> library;
      scripts_[OwnLibraryScriptName(name, k)] = {kDriverStage, ""};
      SLUICE_RETURN_IF_ERROR(Compile(context, std::string(runtime::RuntimeJs(name)),
                                     OwnLibraryScriptName(name, k), kChainStage, &library));
      stage_rt->Set(context, V8String(isolate_, name), library).Check();
    }
  }
  v8::Local<v8::Value> state_native = v8::Null(isolate_);
  bool state_empty = false;
  if (state_.backend != nullptr && program_.input_key_stage >= 0) {
    Result<v8::Local<v8::Object>> native = NewStateNative(context, &state_);
    if (!native.ok()) return native.status();
    state_native = *native;
    // The state cache's tables (2j for keyed stage j): fresh only when all are empty.
    state_empty = true;
    for (size_t j = 0; j < program_.keyed_stages.size(); ++j) {
      state_empty = state_empty && HoldsNothing(*state_.backend, static_cast<uint32_t>(2 * j));
    }
  }
  rt->Set(context, V8String(isolate_, "stateNative"), state_native).Check();
  rt->Set(context, V8String(isolate_, "stateEmpty"), v8::Boolean::New(isolate_, state_empty))
      .Check();
  env->Set(context, V8String(isolate_, "nexmark"), nexmark).Check();
  env->Set(context, V8String(isolate_, "keys"), keys).Check();
  env->Set(context, V8String(isolate_, "codec"), codec).Check();
  env->Set(context, V8String(isolate_, "rt"), rt).Check();
  return Status::Ok();
}

}  // namespace sluice::js
