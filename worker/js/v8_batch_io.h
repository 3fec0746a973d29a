#pragma once

#include <v8-context.h>
#include <v8-isolate.h>
#include <v8-local-handle.h>
#include <v8-primitive.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::js {

// Moving batches across the C++/V8 boundary: strings in and out, and the exchange's columnar
// frame (runtime/codec.js builds and reads the columns; this side frames and unframes them).
// Called on the runner's thread with its isolate entered.

// The first byte of a columnar frame; no JSON line starts with it.
inline constexpr uint8_t kColumnarMagic = 0x01;

v8::Local<v8::String> V8String(v8::Isolate *isolate, std::string_view text);
std::string StdString(v8::Isolate *isolate, v8::Local<v8::Value> value);
// Copies a JS string out as UTF-8 (a Latin-1 fast path for the usual ASCII lines).
void CopyUtf8(v8::Isolate *isolate, v8::Local<v8::String> text, std::string *out);

// Frames the driver's [header, nums, lens, texts] into `out` (texts: the string columns).
Status EncodeColumnar(v8::Isolate *isolate, v8::Local<v8::Context> context,
                      v8::Local<v8::Array> parts, std::string *out);

// The driver's arguments (header, nums, strs) for a columnar batch; every string becomes its own
// JS string so that a kept record does not keep its whole batch alive.
Status DecodeColumnarFrame(v8::Isolate *isolate, std::string_view bytes,
                           v8::Local<v8::Value> args[3]);

}  // namespace sluice::js
