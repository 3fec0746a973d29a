// How a failed call into V8 becomes a Status: the JS exception or the abort (time limit, heap
// limit, interrupt), or the state backend's failure, and the operator it names. Part of
// V8ChainRunner (v8_chain_runner.h); of the callbacks at the end, OnDeadline runs on the
// watchdog's thread, OnInterrupt and OnNearHeapLimit on the isolate's.
#include <v8-debug.h>
#include <v8-exception.h>
#include <v8-message.h>
#include <v8-primitive.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "worker/js/v8_batch_io.h"
#include "worker/js/v8_chain_runner.h"

namespace sluice::js {
namespace {

constexpr size_t kMb = 1024 * 1024;

}  // namespace

Status V8ChainRunner::ExceptionStatus(v8::Local<v8::Context> context, const v8::TryCatch &try_catch,
                                      int stage) {
  v8::Local<v8::Message> message = try_catch.Message();
  std::string text;
  std::string role;
  int line = 0;
  if (!message.IsEmpty()) {
    // The message was formatted when the exception was thrown, inside the time
    // limit; calling toString() on the exception now could run user code
    // outside it.
    text = StdString(isolate_, message->Get());
    const ScriptInfo *script = ScriptOf(message->GetScriptResourceName());
    if (script != nullptr && !script->role.empty()) {
      // A key selector of an output edge: named after the operator the edge feeds.
      stage = script->stage;
      role = script->role;
      line = message->GetLineNumber(context).FromMaybe(0);
    } else if (script != nullptr && script->stage >= 0 && stage == kChainStage) {
      stage = script->stage;
    }
  } else if (try_catch.Exception()->IsString()) {
    text = StdString(isolate_, try_catch.Exception());
  }
  constexpr std::string_view kUncaught = "Uncaught ";
  if (text.compare(0, kUncaught.size(), kUncaught) == 0) text.erase(0, kUncaught.size());
  if (text.empty()) text = "a JS exception without a message";
  std::string where = line > 0 ? " (line " + std::to_string(line) + " of the " + role + ")" : "";
  return Status::User(Name(stage) + ": " + text + where);
}

Status V8ChainRunner::BudgetStatus(const Status &exception, size_t refused) const {
  auto mb = [](size_t bytes) { return std::to_string((bytes + kMb - 1) / kMb); };
  return Status(StatusCode::kResourceExhausted, ErrorDomain::kUser,
                exception.message() + ": its ArrayBuffers and typed arrays may hold at most the " +
                    "heap limit, " + std::to_string(limits_.heap_limit_mb) + " MB, and " +
                    mb(allocator_->in_use()) + " MB are in use (an allocation of " + mb(refused) +
                    " MB was refused)");
}

Status V8ChainRunner::BackendStatus(int stage) const {
  return state_.error.WithContext(Name(stage) + ": its keyed state failed");
}

Status V8ChainRunner::AbortStatus(uint64_t call) {
  Abort reason = abort_;
  if (reason == Abort::kNone) {
    if (heap_exceeded_) {
      reason = Abort::kHeap;
    } else if (timed_out_call_.load() == call) {
      reason = Abort::kTimeout;
    } else if (cancel_requested_.load()) {
      reason = Abort::kCancel;
    }
  }
  switch (reason) {
    case Abort::kCancel:
      return Status::Cancelled("the JS chain was interrupted");
    case Abort::kTimeout:
      broken_ = Status(StatusCode::kDeadlineExceeded, ErrorDomain::kUser,
                       Name(abort_stage_) + " did not return within " +
                           std::to_string(limits_.call_timeout_ms) + " ms");
      return broken_;
    case Abort::kHeap: {
      std::string who = abort_stage_ >= 0 ? Name(abort_stage_) : "the chain";
      broken_ =
          Status(StatusCode::kResourceExhausted, ErrorDomain::kUser,
                 who + " exceeded the JS heap limit of " + std::to_string(limits_.heap_limit_mb) +
                     " MB (operators in this " + "isolate: " + ChainOperators() + ")");
      return broken_;
    }
    case Abort::kNone:
      break;
  }
  broken_ = Status::Internal("JS execution of " + ChainOperators() +
                             " was terminated for an unknown reason");
  return broken_;
}

const V8ChainRunner::ScriptInfo *V8ChainRunner::ScriptOf(v8::Local<v8::Value> resource_name) const {
  if (resource_name.IsEmpty() || !resource_name->IsString()) return nullptr;
  auto it = scripts_.find(StdString(isolate_, resource_name));
  return it == scripts_.end() ? nullptr : &it->second;
}

int V8ChainRunner::StageOfScript(v8::Local<v8::Value> resource_name) const {
  const ScriptInfo *script = ScriptOf(resource_name);
  return script == nullptr ? kChainStage : script->stage;
}

int V8ChainRunner::StageOnTopOfStack() {
  v8::HandleScope handles(isolate_);
  v8::Local<v8::StackTrace> trace =
      v8::StackTrace::CurrentStackTrace(isolate_, 8, v8::StackTrace::kScriptName);
  for (int i = 0; i < trace->GetFrameCount(); ++i) {
    const int stage = StageOfScript(trace->GetFrame(isolate_, i)->GetScriptName());
    // User functions are called only by the driver, so the first known frame
    // decides.
    if (stage >= 0 || OutputKeyEdge(stage) >= 0 || CombinerEdge(stage) >= 0) return stage;
    if (stage == kDriverStage) return kChainStage;
  }
  return kChainStage;
}

std::string V8ChainRunner::Name(int stage) const {
  if (stage >= 0 && stage < static_cast<int>(chain_.stages.size())) {
    return "operator " + DescribeStage(chain_.stages[stage]);
  }
  const int edge = OutputKeyEdge(stage);
  if (edge >= 0) {
    if (static_cast<size_t>(edge) < chain_.outputs.size() &&
        !chain_.outputs[edge].key_operator.empty()) {
      return "operator " + chain_.outputs[edge].key_operator + " (key selector)";
    }
    return Name(static_cast<int>(chain_.stages.size()) - 1);
  }
  if (const int e = CombinerEdge(stage);
      e >= 0 && static_cast<size_t>(e) < chain_.outputs.size() && chain_.outputs[e].combiner) {
    return "operator " + DescribeStage(*chain_.outputs[e].combiner) + " (pre-aggregating)";
  }
  if (const int keyed = InputKeyOf(stage);
      keyed >= 0 && keyed < static_cast<int>(chain_.stages.size())) {
    return "operator " + DescribeStage(chain_.stages[keyed]) + " (key selector)";
  }
  if (stage == kInputStage) return "the input";
  return "the chain of " + ChainOperators();
}

std::string V8ChainRunner::ChainOperators() const {
  std::string names;
  for (const StageSpec &stage : chain_.stages) {
    if (!names.empty()) names += ", ";
    names += DescribeStage(stage);
  }
  return names.empty() ? "no operators" : names;
}

void V8ChainRunner::OnDeadline(void *self) {
  auto *runner = static_cast<V8ChainRunner *>(self);
  // The watchdog fires only between Arm and Disarm, while call_seq_ names the
  // armed call.
  runner->timed_out_call_.store(runner->call_seq_.load());
  runner->isolate_->RequestInterrupt(&OnInterrupt, runner);
}

void V8ChainRunner::OnInterrupt(v8::Isolate *isolate, void *self) {
  auto *runner = static_cast<V8ChainRunner *>(self);
  Abort reason = Abort::kNone;
  if (runner->heap_exceeded_) {
    reason = Abort::kHeap;
  } else if (runner->timed_out_call_.load() == runner->call_seq_.load()) {
    reason = Abort::kTimeout;
  } else if (runner->cancel_requested_.load()) {
    reason = Abort::kCancel;
  }
  if (reason == Abort::kNone) return;  // a late deadline of a call that already returned
  runner->abort_ = reason;
  runner->abort_stage_ = runner->StageOnTopOfStack();
  isolate->TerminateExecution();
}

size_t V8ChainRunner::OnNearHeapLimit(void *self, size_t current_limit, size_t initial_limit) {
  auto *runner = static_cast<V8ChainRunner *>(self);
  runner->heap_exceeded_ = true;
  // The first time, an interrupt names the operator on top of the stack before
  // terminating; should the isolate still be allocating, terminate at once.
  // Either way, grant room to unwind: at the limit V8 would abort the whole
  // process.
  if (runner->heap_callbacks_++ == 0) {
    runner->isolate_->RequestInterrupt(&OnInterrupt, runner);
  } else {
    runner->isolate_->TerminateExecution();
  }
  return current_limit + std::max(initial_limit, 64 * kMb);
}

}  // namespace sluice::js
