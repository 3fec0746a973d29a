#include "worker/js/v8_chain_runner.h"

#include <libplatform/libplatform.h>
#include <v8-container.h>
#include <v8-debug.h>
#include <v8-exception.h>
#include <v8-message.h>
#include <v8-microtask-queue.h>
#include <v8-primitive.h>
#include <v8-script.h>
#include <v8-typed-array.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <utility>
#include <vector>

#include "worker/js/chain_driver_combiner.h"
#include "worker/js/runtime/runtime_sources.h"
#include "worker/js/state_probe.h"
#include "worker/js/v8_batch_io.h"
#include "worker/js/v8_chain_scripts.h"
#include "worker/js/v8_code_cache.h"
#include "worker/js/v8_platform.h"
#include "worker/js/v8_state_binding.h"
#include "worker/js/watchdog.h"

namespace sluice::js {

using namespace scripts;  // NOLINT: the script names (v8_chain_scripts.h)

namespace {

constexpr size_t kMb = 1024 * 1024;

// Stores V8's code for `script` (with the functions compiled so far) under its name and source.
void StoreCode(CodeCache &cache, const std::string &name, const std::string &source,
               v8::Local<v8::UnboundScript> script) {
  std::unique_ptr<v8::ScriptCompiler::CachedData> made(v8::ScriptCompiler::CreateCodeCache(script));
  if (made == nullptr || made->length <= 0) return;
  cache.Store(name, source,
              std::string(reinterpret_cast<const char *>(made->data),
                          static_cast<size_t>(made->length)));
}

double WatermarkToJs(int64_t watermark) {
  if (watermark == kMinWatermark) return -std::numeric_limits<double>::infinity();
  if (watermark == kMaxWatermark) return std::numeric_limits<double>::infinity();
  return static_cast<double>(watermark);
}

int64_t WatermarkFromJs(double watermark) {
  if (std::isnan(watermark) || watermark <= -9.2e18) return kMinWatermark;
  if (watermark >= 9.2e18) return kMaxWatermark;
  return static_cast<int64_t>(std::floor(watermark));
}

}  // namespace

Result<std::unique_ptr<ChainRunner>> V8ChainRunner::Create(const ChainSpec &chain,
                                                           const Limits &limits,
                                                           StateBackend *state) {
  Result<ChainProgram> program = BuildChainProgram(chain);
  if (!program.ok()) return program.status();
  if (chain.restore_state && state == nullptr && program->input_key_stage >= 0) {
    return Status::Internal("operator " + DescribeStage(chain.stages[program->input_key_stage]) +
                            ": restore_state without a state backend to restore from");
  }
  std::unique_ptr<V8ChainRunner> runner(
      new V8ChainRunner(chain, limits, std::move(program).value()));
  runner->state_.backend = state;
  SLUICE_RETURN_IF_ERROR(runner->Init());
  return std::unique_ptr<ChainRunner>(std::move(runner));
}

V8ChainRunner::V8ChainRunner(const ChainSpec &chain, const Limits &limits, ChainProgram program)
    : chain_(chain), limits_(limits), program_(std::move(program)) {
  for (size_t i = 0; i < chain_.stages.size(); ++i) {
    for (const auto &[role, text] : program_.functions[i]) {
      scripts_[FunctionScriptName(chain_.stages[i], role)] = {
          static_cast<int>(i), role == "fn" ? kFunctionRole : role + " function"};
    }
  }
  for (size_t input = 0; input < program_.input_key_fns.size(); ++input) {
    scripts_[InputKeyScriptName(chain_, program_.input_key_stage, input)] = {
        program_.input_key_stage, kKeyRole};
  }
  for (size_t j = chain_.dag ? 0 : 1; j < program_.keyed_stages.size(); ++j) {
    const int k = program_.keyed_stages[j];  // a DAG chain's: per input
    const size_t n = chain_.dag ? chain_.stages[k].chained_key_fns.size() : 1;
    for (size_t in = 0; in < n; ++in) scripts_[InputKeyScriptName(chain_, k, in)] = {k, kKeyRole};
  }
  for (const std::string &name : RuntimeLibraries(chain_, program_)) {
    scripts_[kRuntimePrefix + name] = {kDriverStage, ""};
  }
  for (size_t e = 0; e < program_.output_key_fns.size(); ++e) {
    if (program_.output_key_fns[e].empty()) continue;
    scripts_[OutputKeyScriptName(chain_, e)] = {OutputKeyStage(e), kKeyRole};
    if (!Combines(chain_, e)) continue;  // the window operator's functions, in the combiner
    for (const auto &[role, text] : chain_.outputs[e].combiner->functions) {
      scripts_[FunctionScriptName(*chain_.outputs[e].combiner, role)] = {
          CombinerStage(e), role == "fn" ? kFunctionRole : role + " function"};
    }
  }
  scripts_[kNexmarkScript] = {0, ""};
  scripts_[kKeysScript] = {kDriverStage, ""};
  scripts_[kCodecScript] = {kDriverStage, ""};
  scripts_[kCodecDecodeScript] = {kDriverStage, ""};
  scripts_[kDriverScript] = {kDriverStage, ""};
}

V8ChainRunner::~V8ChainRunner() {
  if (isolate_ == nullptr) return;
  run_.Reset();
  context_.Reset();
  isolate_->RemoveNearHeapLimitCallback(&OnNearHeapLimit, 0);
  isolate_->Dispose();
}

Status V8ChainRunner::Init() {
  // Below this V8 cannot even create the isolate (it crashed in Isolate::New).
  if (limits_.heap_limit_mb < kMinHeapLimitMb) {
    return Status::User("a heap limit of " + std::to_string(limits_.heap_limit_mb) +
                        " MB is below the " + std::to_string(kMinHeapLimitMb) +
                        " MB a task's isolate needs (" + ChainOperators() + ")");
  }
  V8Platform();
  const size_t heap = size_t{limits_.heap_limit_mb} * kMb;
  // ArrayBuffer and typed-array contents live outside the JS heap: the same limit holds them.
  allocator_ = std::make_unique<BudgetAllocator>(heap);
  v8::Isolate::CreateParams params;
  params.array_buffer_allocator = allocator_.get();
  params.constraints.ConfigureDefaultsFromHeapSize(0, heap);
  // V8 derives semi-spaces of 1-2 MB from a 256 MB limit: a chain that makes a few hundred MB
  // of short-lived records a second then scavenges thousands of times a second, and each
  // scavenge copies the batch being built. Three 16 MB semi-spaces' worth (a quarter of smaller
  // limits) from the start cut the sending task's CPU by about a quarter (bench/RESULTS.md).
  const size_t young = std::min<size_t>(48 * kMb, heap / 4);
  params.constraints.set_max_young_generation_size_in_bytes(young);
  params.constraints.set_initial_young_generation_size_in_bytes(young);
  params.constraints.set_max_old_generation_size_in_bytes(heap - young);
  // V8 starts the old generation's limit small and marks the whole heap many times while a
  // stateful chain's state grows (q5: 15 mark-sweeps in its first second); starting it at 64 MB
  // (a third of smaller limits) costs only address space until it fills: 5-15 % less CPU for
  // Nexmark q5, q7 and q11 (bench/RESULTS.md, issue 17, branch gc1).
  params.constraints.set_initial_old_generation_size_in_bytes(
      std::min<size_t>(64 * kMb, (heap - young) / 3));
  isolate_ = v8::Isolate::New(params);
  if (isolate_ == nullptr) return Status::Internal("could not create a V8 isolate");
  isolate_->AddNearHeapLimitCallback(&OnNearHeapLimit, this);
  // Promises created by user functions settle after each batch
  // (PerformMicrotaskCheckpoint in Guarded), inside the call's time limit, so
  // nothing is left queued between batches.
  isolate_->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);

  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = v8::Context::New(isolate_);
  context_.Reset(isolate_, context);
  v8::Context::Scope context_scope(context);
  // WebAssembly memories come from V8's own page allocator, past the ArrayBuffer budget and the
  // heap limit: user functions get no WebAssembly.
  context->Global()->Delete(context, V8String(isolate_, "WebAssembly")).Check();
  return BuildDriver(context);
}


Status V8ChainRunner::Compile(v8::Local<v8::Context> context, const std::string &source,
                              const std::string &resource_name, int stage,
                              v8::Local<v8::Value> *value) {
  v8::Local<v8::String> text = V8String(isolate_, source);
  v8::ScriptOrigin origin(isolate_, V8String(isolate_, resource_name));
  // The code another isolate made for this script (v8_code_cache.h); `cached` keeps its bytes.
  CodeCache &cache = CodeCache::Process();
  std::shared_ptr<const std::string> cached = cache.Find(resource_name, source);
  Result<v8::Local<v8::Value>> result = Guarded(context, stage, [&]() -> v8::MaybeLocal<v8::Value> {
    auto *data = cached == nullptr ? nullptr
                                   : new v8::ScriptCompiler::CachedData(
                                         reinterpret_cast<const uint8_t *>(cached->data()),
                                         static_cast<int>(cached->size()),
                                         v8::ScriptCompiler::CachedData::BufferNotOwned);
    v8::ScriptCompiler::Source script_source(text, origin, data);  // owns `data`
    v8::Local<v8::Script> script;
    if (!v8::ScriptCompiler::Compile(context, &script_source,
                                     data == nullptr ? v8::ScriptCompiler::kNoCompileOptions
                                                     : v8::ScriptCompiler::kConsumeCodeCache)
             .ToLocal(&script)) {
      return {};
    }
    const bool rejected = data != nullptr && script_source.GetCachedData()->rejected;
    if (rejected) cache.Rejected();
    const bool store = data == nullptr || rejected;
    v8::MaybeLocal<v8::Value> value = script->Run(context);
    if (store && !value.IsEmpty()) {  // after the run: with the functions it compiled
      StoreCode(cache, resource_name, source, script->GetUnboundScript());
    }
    return value;
  });
  if (!result.ok()) return result.status();
  *value = *result;
  return Status::Ok();
}

Status V8ChainRunner::BuildDriver(v8::Local<v8::Context> context) {
  // The factory's one argument (chain_program.h), its inputs by name.
  v8::Local<v8::Object> env = v8::Object::New(isolate_);
  SLUICE_RETURN_IF_ERROR(AddUserFunctions(context, env));
  SLUICE_RETURN_IF_ERROR(AddRuntimeLibraries(context, env));
  v8::Local<v8::Value> factory;
  SLUICE_RETURN_IF_ERROR(
      Compile(context, program_.driver_source, kDriverScript, kChainStage, &factory));
  if (!factory->IsFunction()) return Status::Internal("the generated JS driver is no function");

  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate_, kStats * sizeof(double));
  stats_store_ = buffer->GetBackingStore();
  stats_ = static_cast<double *>(stats_store_->Data());
  const std::string &config = program_.has_source_stage ? chain_.stages[0].config_json : "";
  const std::pair<const char *, v8::Local<v8::Value>> inputs[] = {
      {"paramsJson", V8String(isolate_, chain_.params_json.empty() ? "{}" : chain_.params_json)},
      {"sourceConfigJson", V8String(isolate_, config.empty() ? "{}" : config)},
      {"stats", v8::Float64Array::New(buffer, 0, kStats)},
  };
  for (const auto &[name, value] : inputs) {
    env->Set(context, V8String(isolate_, name), value).Check();
  }
  v8::Local<v8::Value> args[] = {env};
  // kFromDriver: restoring the keyed operator's timers names that operator when it fails.
  Result<v8::Local<v8::Value>> run =
      Guarded(context, kFromDriver, [&]() -> v8::MaybeLocal<v8::Value> {
        return factory.As<v8::Function>()->Call(context, v8::Undefined(isolate_),
                                                static_cast<int>(std::size(args)), args);
      });
  if (!run.ok()) return run.status();
  if (!(*run)->IsFunction()) return Status::Internal("the generated JS driver made no function");
  run_.Reset(isolate_, run->As<v8::Function>());
  return WarmUp(context);
}

// Calls with no records before the first batch (kWarmUpCalls of them): the driver's code after
// its loop (moving the keyed operators' output on, the combiners' end, finish()) has run and has
// type feedback when V8 first optimises `run`, which it does in the middle of the first batch's
// loop (on-stack replacement). Without, that code deoptimised on reaching the loop's end for
// want of feedback, and `run` was compiled again (q7 at p=2: five compiles of each source
// task's `run`). The calls' results are not the task's: nothing came in, nothing goes out.
// (V8's --no-lazy-feedback-allocation, feedback from every function's first call, did the same
// with one call but cost q11 at p=1 3 % more CPU.)
Status V8ChainRunner::WarmUp(v8::Local<v8::Context> context) {
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Value> args[5] = {v8::Undefined(isolate_), v8::Undefined(isolate_),
                                  v8::Undefined(isolate_), v8::Undefined(isolate_),
                                  v8::Integer::New(isolate_, 0)};
  int argc = 5;
  if (program_.source == SourceKind::kText) {
    args[0] = v8::String::Empty(isolate_);
  } else {
    args[0] = v8::Number::New(isolate_, 0);
    args[1] = v8::Number::New(isolate_, 1);
    args[2] = v8::Integer::New(isolate_, 0);
    argc = 3;
  }
  for (int i = 0; i < kWarmUpCalls; ++i) {
    SLUICE_RETURN_IF_ERROR(CallRun(context, argc, args).status());
  }
  return Status::Ok();
}

Result<v8::Local<v8::Value>> V8ChainRunner::CallRun(v8::Local<v8::Context> context, int argc,
                                                     v8::Local<v8::Value> *args) {
  v8::Local<v8::Function> run = run_.Get(isolate_);
  return Guarded(context, kFromDriver, [&]() -> v8::MaybeLocal<v8::Value> {
    return run->Call(context, v8::Undefined(isolate_), argc, args);
  });
}

Result<BatchResult> V8ChainRunner::RunGenerated(int64_t first, int64_t stride, int32_t count) {
  if (program_.source == SourceKind::kText) {
    return Status::FailedPrecondition("RunGenerated on a chain without a generated source");
  }
  if (count < 0) return Status::InvalidArgument("RunGenerated with a negative count");
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> args[] = {
      v8::Number::New(isolate_, static_cast<double>(first)),
      v8::Number::New(isolate_, static_cast<double>(stride)),
      v8::Integer::New(isolate_, count),
  };
  Result<v8::Local<v8::Value>> out = CallRun(context, 3, args);
  if (!out.ok()) return out.status();
  return Finish(context, *out);
}

Result<BatchResult> V8ChainRunner::RunText(std::string_view text, uint32_t input) {
  if (program_.source != SourceKind::kText) {
    return Status::FailedPrecondition("RunText on a chain with a generated source");
  }
  if (text.size() > static_cast<size_t>(v8::String::kMaxLength)) {
    return Status::InvalidArgument("RunText batch of " + std::to_string(text.size()) +
                                   " bytes is longer than a JS string can be");
  }
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> args[5] = {v8::Undefined(isolate_), v8::Undefined(isolate_),
                                  v8::Undefined(isolate_), v8::Undefined(isolate_),
                                  v8::Integer::NewFromUnsigned(isolate_, input)};
  const int argc = 5;
  if (chain_.text_format == "json" && !text.empty() &&
      static_cast<uint8_t>(text[0]) == kColumnarMagic) {
    args[0] = v8::String::Empty(isolate_);
    SLUICE_RETURN_IF_ERROR(DecodeColumnarFrame(isolate_, text, args + 1));
  } else {
    v8::Local<v8::String> input;
    if (!v8::String::NewFromUtf8(isolate_, text.data(), v8::NewStringType::kNormal,
                                 static_cast<int>(text.size()))
             .ToLocal(&input)) {
      return Status::InvalidArgument("RunText batch could not be made a JS string");
    }
    args[0] = input;
  }
  Result<v8::Local<v8::Value>> out = CallRun(context, argc, args);
  if (!out.ok()) return out.status();
  return Finish(context, *out);
}

Result<v8::Local<v8::Function>> V8ChainRunner::DriverMethod(v8::Local<v8::Context> context,
                                                            const char *name) {
  v8::Local<v8::Value> method;
  if (!run_.Get(isolate_)->Get(context, V8String(isolate_, name)).ToLocal(&method) ||
      !method->IsFunction()) {
    return Status::Internal(std::string("the generated JS driver has no ") + name + "()");
  }
  return method.As<v8::Function>();
}

Result<BatchResult> V8ChainRunner::AdvanceTime(std::optional<int64_t> watermark,
                                               int64_t now_ms) {
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> args[] = {
      v8::Number::New(isolate_, watermark.has_value()
                                    ? WatermarkToJs(*watermark)
                                    : -std::numeric_limits<double>::infinity()),
      v8::Number::New(isolate_, static_cast<double>(now_ms)),
  };
  Result<v8::Local<v8::Value>> out = CallMethod(context, "advance", 2, args);
  if (!out.ok()) return out.status();
  return Finish(context, *out);
}

Result<std::optional<BatchResult>> V8ChainRunner::Release() {
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  Result<v8::Local<v8::Value>> out = CallMethod(context, "release", 0, nullptr);
  if (!out.ok()) return out.status();
  if ((*out)->IsNull()) return std::optional<BatchResult>();
  auto batch = Finish(context, *out);
  if (!batch.ok()) return batch.status();
  return std::optional<BatchResult>(std::move(batch).value());
}

Result<v8::Local<v8::Value>> V8ChainRunner::CallMethod(v8::Local<v8::Context> context,
                                                          const char *name, int argc,
                                                          v8::Local<v8::Value> *argv) {
  Result<v8::Local<v8::Function>> method = DriverMethod(context, name);
  if (!method.ok()) return method.status();
  return Guarded(context, kFromDriver, [&]() -> v8::MaybeLocal<v8::Value> {
    return (*method)->Call(context, v8::Undefined(isolate_), argc, argv);
  });
}

void V8ChainRunner::Interrupt() {
  cancel_requested_.store(true);
  isolate_->RequestInterrupt(&OnInterrupt, this);
}

template <typename F>
Result<v8::Local<v8::Value>> V8ChainRunner::Guarded(v8::Local<v8::Context> context, int stage,
                                                    F &&run) {
  if (!broken_.ok()) return broken_;
  if (cancel_requested_.load()) return Status::Cancelled("the JS chain was interrupted");
  const uint64_t call = call_seq_.fetch_add(1) + 1;
  abort_ = Abort::kNone;
  abort_stage_ = kChainStage;
  if (stats_ != nullptr) Stat(DriverStat::kRunningStage) = kChainStage;
  state_.error = Status::Ok();
  allocator_->TakeRefused();

  v8::EscapableHandleScope handles(isolate_);
  v8::TryCatch try_catch(isolate_);
  Watchdog &watchdog = Watchdog::Get();
  const Watchdog::Token token =
      watchdog.Arm(Watchdog::Clock::now() + std::chrono::milliseconds(limits_.call_timeout_ms),
                   &OnDeadline, this);
  v8::MaybeLocal<v8::Value> result = run();
  if (!result.IsEmpty()) isolate_->PerformMicrotaskCheckpoint();
  watchdog.Disarm(token);
  // Tasks V8 posts for the isolate (GC finalisation and the like) run here,
  // between batches.
  while (v8::platform::PumpMessageLoop(&V8Platform(), isolate_)) {
  }

  if (try_catch.HasTerminated() || isolate_->IsExecutionTerminating()) {
    isolate_->CancelTerminateExecution();
    return AbortStatus(call);
  }
  if (result.IsEmpty()) {
    if (stage == kFromDriver) stage = static_cast<int>(Stat(DriverStat::kRunningStage));
    if (!state_.error.ok()) return BackendStatus(stage);
    if (const size_t refused = allocator_->TakeRefused(); refused > 0) {
      return BudgetStatus(ExceptionStatus(context, try_catch, stage), refused);
    }
    return ExceptionStatus(context, try_catch, stage);
  }
  return handles.Escape(result.ToLocalChecked());
}

Result<BatchResult> V8ChainRunner::Finish(v8::Local<v8::Context> context,
                                          v8::Local<v8::Value> out) {
  BatchResult batch;
  batch.records_in = static_cast<uint64_t>(Stat(DriverStat::kRecordsIn));
  batch.records_out = static_cast<uint64_t>(Stat(DriverStat::kRecordsOut));
  const int64_t watermark = WatermarkFromJs(Stat(DriverStat::kOutputWatermark));
  if (watermark > output_watermark_) {
    output_watermark_ = watermark;
    batch.watermark = watermark;
  }
  const bool idle = Stat(DriverStat::kOutputIdle) != 0;
  if (idle != output_idle_) {
    output_idle_ = idle;
    batch.idle = idle;
  }
  batch.late_dropped = static_cast<uint64_t>(Stat(DriverStat::kLateDropped));
  batch.late_side_output = static_cast<uint64_t>(Stat(DriverStat::kLateSideOutput));
  if (chain_.output == OutputMode::kJsonLines && out->IsString()) {
    CopyUtf8(isolate_, out.As<v8::String>(), &batch.json_lines);
  } else if (chain_.output == OutputMode::kPartitioned) {
    SLUICE_RETURN_IF_ERROR(CopyPartitions(context, out, &batch));
  }
  return batch;
}

// `out` is the driver's array per edge of one string per target.
Status V8ChainRunner::CopyPartitions(v8::Local<v8::Context> context, v8::Local<v8::Value> out,
                                     BatchResult *batch) {
  const size_t num_edges = chain_.outputs.size();
  if (!out->IsArray() || out.As<v8::Array>()->Length() != num_edges) {
    return Status::Internal("the JS driver returned no partitions");
  }
  batch->partitions.resize(num_edges);
  for (size_t e = 0; e < num_edges; ++e) {
    v8::Local<v8::Value> edge;
    const uint32_t targets = chain_.outputs[e].targets;
    if (!out.As<v8::Array>()->Get(context, static_cast<uint32_t>(e)).ToLocal(&edge) ||
        !edge->IsArray() || edge.As<v8::Array>()->Length() != targets) {
      return Status::Internal("the JS driver returned bad partitions for output edge " +
                              std::to_string(e));
    }
    std::vector<std::string> &lines = batch->partitions[e];
    lines.resize(targets);
    v8::Local<v8::Value> previous;
    for (uint32_t t = 0; t < targets; ++t) {
      v8::Local<v8::Value> text;
      if (!edge.As<v8::Array>()->Get(context, t).ToLocal(&text) ||
          !(text->IsString() || text->IsArray())) {
        return Status::Internal("the JS driver returned a partition that is no string");
      }
      // A broadcast puts the same value at every target: encode it once.
      if (t > 0 && text == previous) {
        lines[t] = lines[t - 1];
      } else if (text->IsArray()) {
        SLUICE_RETURN_IF_ERROR(EncodeColumnar(isolate_, context, text.As<v8::Array>(), &lines[t]));
      } else {
        CopyUtf8(isolate_, text.As<v8::String>(), &lines[t]);
      }
      previous = text;
    }
  }
  return Status::Ok();
}

}  // namespace sluice::js
