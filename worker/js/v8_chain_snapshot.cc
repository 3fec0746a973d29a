// A chain's keyed state into a checkpoint: the driver's run.snapshot, beginSnapshot,
// continueSnapshot and abortSnapshot (chain_program.h), called on the task's thread. Part of
// V8ChainRunner (v8_chain_runner.h).
#include "worker/js/v8_chain_runner.h"

#include <v8-primitive.h>

namespace sluice::js {

Status V8ChainRunner::SnapshotState() {
  if (program_.input_key_stage < 0) return Status::Ok();
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  return CallMethod(context, "snapshot", 0, nullptr).status();
}

Status V8ChainRunner::BeginSnapshot() {
  if (program_.input_key_stage < 0) return Status::Ok();
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  return CallMethod(context, "beginSnapshot", 0, nullptr).status();
}

Result<bool> V8ChainRunner::ContinueSnapshot(size_t budget) {
  if (program_.input_key_stage < 0) return true;
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  v8::Local<v8::Value> args[] = {v8::Number::New(isolate_, static_cast<double>(budget))};
  Result<v8::Local<v8::Value>> out = CallMethod(context, "continueSnapshot", 1, args);
  if (!out.ok()) return out.status();
  return (*out)->IsTrue();
}

void V8ChainRunner::AbortSnapshot() {
  if (program_.input_key_stage < 0 || !broken_.ok()) return;
  v8::Isolate::Scope isolate_scope(isolate_);
  v8::HandleScope handles(isolate_);
  v8::Local<v8::Context> context = context_.Get(isolate_);
  v8::Context::Scope context_scope(context);
  CallMethod(context, "abortSnapshot", 0, nullptr).status().IgnoreError();
}

}  // namespace sluice::js
