#pragma once

#include <v8-array-buffer.h>
#include <v8-context.h>
#include <v8-exception.h>
#include <v8-function.h>
#include <v8-isolate.h>
#include <v8-persistent-handle.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "worker/js/chain_program.h"
#include "worker/js/js_engine.h"
#include "worker/js/v8_budget_allocator.h"
#include "worker/js/v8_state_binding.h"

namespace sluice::js {

// ChainRunner on V8: one isolate and one context per runner, holding the
// chain's compiled user functions and its generated driver (see
// chain_program.h), which processes a whole batch per call.
//
// Lifecycle: Create() builds the isolate and compiles everything on the calling
// thread; the destructor disposes the isolate. Threading: every method but
// Interrupt() runs on the thread that called Create(). Interrupt() may be
// called from any thread while the runner is alive; the owner must not destroy
// the runner while another thread may still call Interrupt(). The watchdog
// thread only touches the atomics below and Isolate::RequestInterrupt.
//
// Limits: each call into V8 is armed with the process's Watchdog; when it
// fires, an interrupt on the isolate's thread records which operator is on top
// of the JS stack and terminates execution. The heap limit works the same way
// from the near-heap-limit callback, which also raises the limit so the isolate
// can unwind instead of aborting the process.
class V8ChainRunner final : public ChainRunner {
 public:
  static Result<std::unique_ptr<ChainRunner>> Create(const ChainSpec &chain, const Limits &limits,
                                                     StateBackend *state = nullptr);
  ~V8ChainRunner() override;
  V8ChainRunner(const V8ChainRunner &) = delete;
  V8ChainRunner &operator=(const V8ChainRunner &) = delete;

  Result<BatchResult> RunGenerated(int64_t first, int64_t stride, int32_t count) override;
  Result<BatchResult> RunText(std::string_view text, uint32_t input = 0) override;
  Result<BatchResult> AdvanceTime(std::optional<int64_t> watermark, int64_t now_ms) override;
  Result<std::optional<BatchResult>> Release() override;
  Status SnapshotState() override;
  Status BeginSnapshot() override;
  Result<bool> ContinueSnapshot(size_t budget) override;
  void AbortSnapshot() override;
  void Interrupt() override;

 private:
  // Stage indexes beyond the chain's stages.
  static constexpr int kInputStage = -1;    // the lines of a text chain without source stage
  static constexpr int kChainStage = -2;    // somewhere in the chain; name all its operators
  static constexpr int kDriverStage = -3;   // a frame of the generated driver
  static constexpr int kFromDriver = -100;  // Guarded(): take the stage the driver recorded

  enum class Abort { kNone, kTimeout, kCancel, kHeap };

  // What a compiled script is, by resource name: the stage its errors name and,
  // for user code, what to call it in "line N of the ..." ("" for runtime code).
  struct ScriptInfo {
    int stage;
    std::string role;
  };

  V8ChainRunner(const ChainSpec &chain, const Limits &limits, ChainProgram program);
  Status Init();
  Status Compile(v8::Local<v8::Context> context, const std::string &source,
                 const std::string &resource_name, int stage, v8::Local<v8::Value> *value);
  // The exchange codec: runtime/codec.js (sending) and codec_decode.js (receiving), as one object.
  Status CompileCodec(v8::Local<v8::Context> context, v8::Local<v8::Value> *codec);
  Status BuildDriver(v8::Local<v8::Context> context);
  // Calls of the driver with no records before the first batch (WarmUp, v8_chain_runner.cc).
  // V8 gives a function its feedback vector once it has run about 8 times its bytecode's size
  // (--interrupt-budget-factor-for-feedback-allocation); a call with no records runs a small
  // part of the driver's bytecode: 80 were enough for q7's source tasks, 100 leave a margin.
  Status WarmUp(v8::Local<v8::Context> context);
  static constexpr int kWarmUpCalls = 100;
  // The driver factory's inputs (chain_program.h), set on `env` by name: the user's functions
  // compiled ("fns", "inKeyFns", "outKeyFns"), and the runtime libraries ("nexmark", "keys",
  // "codec", "rt").
  Status AddUserFunctions(v8::Local<v8::Context> context, v8::Local<v8::Object> env);
  Status AddRuntimeLibraries(v8::Local<v8::Context> context, v8::Local<v8::Object> env);
  // Calls the driver's `run` under the call's guards.
  Result<v8::Local<v8::Value>> CallRun(v8::Local<v8::Context> context, int argc,
                                       v8::Local<v8::Value> *args);
  // Calls the driver's method `name` (run.advance, run.release, run.snapshot, ...) under the
  // call's guards.
  Result<v8::Local<v8::Value>> CallMethod(v8::Local<v8::Context> context, const char *name,
                                          int argc, v8::Local<v8::Value> *argv);
  // The driver's method `name`.
  Result<v8::Local<v8::Function>> DriverMethod(v8::Local<v8::Context> context, const char *name);

  // Runs `run` (which calls into JS) under the time limit, then maps an
  // exception or a termination to a Status naming the operator.
  template <typename F>
  Result<v8::Local<v8::Value>> Guarded(v8::Local<v8::Context> context, int stage, F &&run);
  Result<BatchResult> Finish(v8::Local<v8::Context> context, v8::Local<v8::Value> out);
  Status CopyPartitions(v8::Local<v8::Context> context, v8::Local<v8::Value> out,
                        BatchResult *batch);
  Status CompileFunction(v8::Local<v8::Context> context, const std::string &text,
                         const std::string &resource_name, int stage, v8::Local<v8::Value> *fn);
  Status ExceptionStatus(v8::Local<v8::Context> context, const v8::TryCatch &try_catch, int stage);
  // ExceptionStatus for a call in which the ArrayBuffer budget refused `refused` bytes.
  Status BudgetStatus(const Status &exception, size_t refused) const;
  Status AbortStatus(uint64_t call);
  // The state backend's failure (state_.error) in a call that failed, naming the operator.
  Status BackendStatus(int stage) const;

  const ScriptInfo *ScriptOf(v8::Local<v8::Value> resource_name) const;
  int StageOfScript(v8::Local<v8::Value> resource_name) const;
  int StageOnTopOfStack();
  std::string Name(int stage) const;
  std::string ChainOperators() const;

  static void OnDeadline(void *self);
  static void OnInterrupt(v8::Isolate *isolate, void *self);
  static size_t OnNearHeapLimit(void *self, size_t current_limit, size_t initial_limit);

  const ChainSpec chain_;
  const Limits limits_;
  const ChainProgram program_;
  std::unordered_map<std::string, ScriptInfo> scripts_;

  std::unique_ptr<BudgetAllocator> allocator_;  // ArrayBuffer memory, within the heap limit
  v8::Isolate *isolate_ = nullptr;
  v8::Global<v8::Context> context_;
  v8::Global<v8::Function> run_;
  std::shared_ptr<v8::BackingStore> stats_store_;  // the driver's Float64Array stats
  double *stats_ = nullptr;
  static constexpr size_t kStats = static_cast<size_t>(DriverStat::kCount);
  // The driver's stats slot `stat` (chain_program.h).
  double &Stat(DriverStat stat) { return stats_[static_cast<size_t>(stat)]; }
  // The keyed state's backend (nullptr: none) and its failure in the current call, which a
  // failed call reports instead of the JS exception it became.
  StateBinding state_;
  // What the last calls reported, so a result carries only changes.
  int64_t output_watermark_ = kMinWatermark;
  bool output_idle_ = false;

  // Shared with the watchdog thread and Interrupt() callers.
  std::atomic<uint64_t> call_seq_{0};        // the current (or last) call; owner writes
  std::atomic<uint64_t> timed_out_call_{0};  // the call the watchdog fired for
  std::atomic<bool> cancel_requested_{false};

  // Isolate thread only.
  bool heap_exceeded_ = false;
  int heap_callbacks_ = 0;
  Abort abort_ = Abort::kNone;
  int abort_stage_ = kChainStage;
  Status broken_;  // once set, every later call returns it
};

}  // namespace sluice::js
