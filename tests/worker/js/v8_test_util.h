#pragma once

#include <v8-context.h>
#include <v8-exception.h>
#include <v8-function.h>
#include <v8-isolate.h>
#include <v8-local-handle.h>
#include <v8-message.h>
#include <v8-primitive.h>
#include <v8-script.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "worker/js/v8_batch_io.h"
#include "worker/js/v8_platform.h"

namespace sluice::js::testing {

// A fresh isolate and context, entered (with a handle scope) for the object's lifetime, for
// tests that run JS against native bindings without a chain. Used on one thread.
class ScratchIsolate {
 public:
  ScratchIsolate() {
    V8Platform();
    allocator_.reset(v8::ArrayBuffer::Allocator::NewDefaultAllocator());
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = allocator_.get();
    isolate_ = v8::Isolate::New(params);
    isolate_scope_.emplace(isolate_);
    handles_.emplace(isolate_);
    context_ = v8::Context::New(isolate_);
    context_scope_.emplace(context_);
  }
  ~ScratchIsolate() {
    context_scope_.reset();
    context_.Clear();
    handles_.reset();
    isolate_scope_.reset();
    isolate_->Dispose();
  }
  ScratchIsolate(const ScratchIsolate &) = delete;
  ScratchIsolate &operator=(const ScratchIsolate &) = delete;

  v8::Isolate *isolate() const { return isolate_; }
  v8::Local<v8::Context> context() const { return context_; }

  // Compiles and runs `source` as a script named `name`: its completion value, or a user error
  // with the exception's message.
  Result<v8::Local<v8::Value>> Run(std::string_view source, std::string_view name = "test") {
    v8::TryCatch try_catch(isolate_);
    v8::ScriptOrigin origin(isolate_, V8String(isolate_, name));
    v8::Local<v8::Script> script;
    v8::Local<v8::Value> value;
    if (v8::Script::Compile(context_, V8String(isolate_, source), &origin).ToLocal(&script) &&
        script->Run(context_).ToLocal(&value)) {
      return value;
    }
    return Status::User(StdString(isolate_, try_catch.Exception()));
  }

  // Calls `fn` (a function value) with `args`: its result, or the exception's message.
  Result<v8::Local<v8::Value>> Call(v8::Local<v8::Value> fn, int argc, v8::Local<v8::Value> *args) {
    if (!fn->IsFunction()) return Status::Internal("not a function");
    v8::TryCatch try_catch(isolate_);
    v8::Local<v8::Value> value;
    if (fn.As<v8::Function>()
            ->Call(context_, v8::Undefined(isolate_), argc, args)
            .ToLocal(&value)) {
      return value;
    }
    return Status::User(StdString(isolate_, try_catch.Exception()));
  }

 private:
  std::unique_ptr<v8::ArrayBuffer::Allocator> allocator_;
  v8::Isolate *isolate_ = nullptr;
  std::optional<v8::Isolate::Scope> isolate_scope_;
  std::optional<v8::HandleScope> handles_;
  v8::Local<v8::Context> context_;
  std::optional<v8::Context::Scope> context_scope_;
};

}  // namespace sluice::js::testing
