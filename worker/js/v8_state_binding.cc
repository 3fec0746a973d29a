#include "worker/js/v8_state_binding.h"

#include <v8-container.h>
#include <v8-exception.h>
#include <v8-external.h>
#include <v8-function.h>
#include <v8-isolate.h>
#include <v8-primitive.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "worker/js/v8_batch_io.h"

namespace sluice::js {
namespace {

StateBinding &BindingOf(const v8::FunctionCallbackInfo<v8::Value> &info) {
  return *static_cast<StateBinding *>(info.Data().As<v8::External>()->Value());
}

void Throw(v8::Isolate *isolate, const std::string &message) {
  isolate->ThrowException(v8::Exception::Error(V8String(isolate, message)));
}

void ThrowBackendError(const v8::FunctionCallbackInfo<v8::Value> &info, const Status &status) {
  BindingOf(info).error = status;
  Throw(info.GetIsolate(), status.message());
}

void ThrowType(v8::Isolate *isolate, const std::string &message) {
  isolate->ThrowException(v8::Exception::TypeError(V8String(isolate, message)));
}

// A table index or key group: a non-negative integer that fits 32 bits.
bool ToIndex(v8::Local<v8::Value> value, uint32_t *out) {
  if (!value->IsNumber()) return false;
  const double number = value.As<v8::Number>()->Value();
  if (!(number >= 0 && number <= 4294967295.0) || std::floor(number) != number) return false;
  *out = static_cast<uint32_t>(number);
  return true;
}

// A key string as UTF-8 bytes. Unlike CopyUtf8 this keeps a lone surrogate (as its 3-byte
// form) instead of replacing it with U+FFFD, so two different keys never become one.
void KeyBytes(v8::Isolate *isolate, v8::Local<v8::String> key, std::string *out) {
  if (key->IsOneByte()) {
    const int length = key->Length();
    out->resize(length);
    auto *bytes = reinterpret_cast<uint8_t *>(out->data());
    key->WriteOneByte(isolate, bytes, 0, length, v8::String::NO_NULL_TERMINATION);
    uint8_t high = 0;
    for (int i = 0; i < length; ++i) high |= bytes[i];
    if (high < 0x80) return;
  }
  const int length = key->Utf8Length(isolate);
  out->resize(length);
  key->WriteUtf8(isolate, out->data(), length, nullptr, v8::String::NO_NULL_TERMINATION);
}

// get(table, keyGroup, key) -> string | undefined
void Get(const v8::FunctionCallbackInfo<v8::Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  uint32_t table = 0, key_group = 0;
  if (info.Length() != 3 || !ToIndex(info[0], &table) || !ToIndex(info[1], &key_group) ||
      !info[2]->IsString()) {
    ThrowType(isolate, "state get(table, keyGroup, key) takes two indexes and a string");
    return;
  }
  std::string key;
  KeyBytes(isolate, info[2].As<v8::String>(), &key);
  Result<std::optional<std::string>> value = BindingOf(info).backend->Get(table, key_group, key);
  if (!value.ok()) {
    ThrowBackendError(info, value.status());
    return;
  }
  if (!value->has_value()) return;  // undefined
  v8::Local<v8::String> text;
  if (!v8::String::NewFromUtf8(isolate, (*value)->data(), v8::NewStringType::kNormal,
                               static_cast<int>((*value)->size()))
           .ToLocal(&text)) {
    Throw(isolate, "state get: a stored value of " + std::to_string((*value)->size()) +
                       " bytes is too long for a JS string");
    return;
  }
  info.GetReturnValue().Set(text);
}

// [table, keyGroup, key, value or null, ...] -> mutations; false with an exception pending.
bool ReadMutations(const v8::FunctionCallbackInfo<v8::Value> &info, const char *what,
                   std::vector<StateBackend::Mutation> *mutations) {
  v8::Isolate *isolate = info.GetIsolate();
  if (info.Length() != 1 || !info[0]->IsArray() || info[0].As<v8::Array>()->Length() % 4 != 0) {
    ThrowType(isolate, std::string("state ") + what +
                           " takes one array of [table, keyGroup, key, value] quadruples");
    return false;
  }
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Array> flat = info[0].As<v8::Array>();
  const uint32_t length = flat->Length();
  mutations->resize(length / 4);
  for (uint32_t i = 0; i < length; i += 4) {
    v8::Local<v8::Value> table, key_group, key, value;
    if (!flat->Get(context, i).ToLocal(&table) || !flat->Get(context, i + 1).ToLocal(&key_group) ||
        !flat->Get(context, i + 2).ToLocal(&key) || !flat->Get(context, i + 3).ToLocal(&value)) {
      return false;  // an exception is pending
    }
    StateBackend::Mutation &mutation = (*mutations)[i / 4];
    if (!ToIndex(table, &mutation.table) || !ToIndex(key_group, &mutation.key_group) ||
        !key->IsString() || !(value->IsString() || value->IsNull())) {
      ThrowType(isolate, std::string("state ") + what + ": entry " + std::to_string(i / 4) +
                             " is not [table, keyGroup, key string, value string or null]");
      return false;
    }
    KeyBytes(isolate, key.As<v8::String>(), &mutation.key);
    if (value->IsString()) {
      mutation.value.emplace();
      CopyUtf8(isolate, value.As<v8::String>(), &*mutation.value);
    }
  }
  return true;
}

// write([table, keyGroup, key, value or null, ...])
void Write(const v8::FunctionCallbackInfo<v8::Value> &info) {
  std::vector<StateBackend::Mutation> mutations;
  if (!ReadMutations(info, "write", &mutations)) return;
  Status written = BindingOf(info).backend->Write(std::move(mutations));
  if (!written.ok()) ThrowBackendError(info, written);
}

// writeSnapshot([table, keyGroup, key, value or null, ...]): a checkpoint's state.
void WriteSnapshot(const v8::FunctionCallbackInfo<v8::Value> &info) {
  std::vector<StateBackend::Mutation> mutations;
  if (!ReadMutations(info, "writeSnapshot", &mutations)) return;
  Status written = BindingOf(info).backend->WriteSnapshot(std::move(mutations));
  if (!written.ok()) ThrowBackendError(info, written);
}

// scan(table) -> [keyGroup, key, value, ...]: every entry of the table (restoring timers).
void Scan(const v8::FunctionCallbackInfo<v8::Value> &info) {
  v8::Isolate *isolate = info.GetIsolate();
  uint32_t table = 0;
  if (info.Length() != 1 || !ToIndex(info[0], &table)) {
    ThrowType(isolate, "state scan(table) takes a table index");
    return;
  }
  v8::Local<v8::Context> context = isolate->GetCurrentContext();
  v8::Local<v8::Array> out = v8::Array::New(isolate);
  uint32_t n = 0;
  Status scanned = BindingOf(info).backend->Scan(
      table, [&](uint32_t key_group, std::string_view key, std::string_view value) -> Status {
        v8::Local<v8::String> k, v;
        if (!v8::String::NewFromUtf8(isolate, key.data(), v8::NewStringType::kNormal,
                                     static_cast<int>(key.size()))
                 .ToLocal(&k) ||
            !v8::String::NewFromUtf8(isolate, value.data(), v8::NewStringType::kNormal,
                                     static_cast<int>(value.size()))
                 .ToLocal(&v) ||
            out->Set(context, n, v8::Number::New(isolate, key_group)).IsNothing() ||
            out->Set(context, n + 1, k).IsNothing() || out->Set(context, n + 2, v).IsNothing()) {
          return Status::Internal("state scan: an entry of " + std::to_string(key.size() + value.size()) +
                                  " bytes does not fit a JS string");
        }
        n += 3;
        return Status::Ok();
      });
  if (!scanned.ok()) {
    ThrowBackendError(info, scanned);
    return;
  }
  info.GetReturnValue().Set(out);
}

}  // namespace

Result<v8::Local<v8::Object>> NewStateNative(v8::Local<v8::Context> context,
                                             StateBinding *binding) {
  v8::Isolate *isolate = context->GetIsolate();
  v8::EscapableHandleScope handles(isolate);
  v8::Local<v8::External> data = v8::External::New(isolate, binding);
  v8::Local<v8::Object> native = v8::Object::New(isolate);
  v8::Local<v8::Function> get, write, write_snapshot, scan;
  if (!v8::Function::New(context, &Get, data, 3).ToLocal(&get) ||
      !v8::Function::New(context, &Write, data, 1).ToLocal(&write) ||
      !v8::Function::New(context, &WriteSnapshot, data, 1).ToLocal(&write_snapshot) ||
      !v8::Function::New(context, &Scan, data, 1).ToLocal(&scan) ||
      native->Set(context, V8String(isolate, "get"), get).IsNothing() ||
      native->Set(context, V8String(isolate, "write"), write).IsNothing() ||
      native->Set(context, V8String(isolate, "writeSnapshot"), write_snapshot).IsNothing() ||
      native->Set(context, V8String(isolate, "scan"), scan).IsNothing()) {
    return Status::Internal("could not make the state backend's JS functions");
  }
  return handles.Escape(native);
}

}  // namespace sluice::js
