#pragma once

#include <v8-context.h>
#include <v8-local-handle.h>
#include <v8-object.h>

#include "common/status.h"
#include "worker/js/js_engine.h"

namespace sluice::js {

// Makes the `native` object that runtime/state.js's StateTables reads and writes through:
//   get(table, keyGroup, key)  -> the stored JSON text, or undefined
//   write([table, keyGroup, key, JSON text or null, ...])  one atomic backend Write
// Keys go to the backend as UTF-8 (a lone surrogate as its 3-byte form, so distinct JS strings
// stay distinct keys); values are JSON.stringify output, always well-formed UTF-16.
// A backend error throws a JS Error whose message is the backend's; bad arguments throw a
// TypeError naming the function.
//
// Call on the isolate's thread with `context` entered. The object keeps a raw pointer:
// `backend` must outlive every call of the object's functions (the task owns both the backend
// and the isolate, and disposes of the isolate first). Returns an internal error if V8 could not
// make the object.
Result<v8::Local<v8::Object>> NewStateNative(v8::Local<v8::Context> context, StateBackend *backend);

}  // namespace sluice::js
