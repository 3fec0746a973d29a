#pragma once

#include <v8-context.h>
#include <v8-local-handle.h>
#include <v8-object.h>

#include "common/status.h"
#include "worker/js/js_engine.h"

namespace sluice::js {

// What the functions of a `native` object reach: the backend, and the backend's failure in the
// current call, which the owner clears before a call into JS and reports when that call fails
// (a storage failure is an external error, not the JS exception it became).
struct StateBinding {
  StateBackend *backend = nullptr;
  Status error;
};

// Makes the `native` object that runtime/state.js's StateTables reads and writes through:
//   get(table, keyGroup, key)  -> the stored JSON text, or undefined
//   write([table, keyGroup, key, JSON text or null, ...])  one atomic backend Write
//   writeSnapshot([...the same])  a checkpoint's state (backend WriteSnapshot)
//   scan(table) -> [keyGroup, key, JSON text, ...]  every entry of the table (backend Scan)
// Keys go to the backend as UTF-8 (a lone surrogate as its 3-byte form, so distinct JS strings
// stay distinct keys); values are JSON.stringify output, always well-formed UTF-16.
// A backend error is stored in binding->error and thrown as a JS Error whose message is the
// backend's; bad arguments throw a TypeError naming the function.
//
// Call on the isolate's thread with `context` entered. The object keeps a raw pointer:
// `binding` and its backend must outlive every call of the object's functions (the task owns
// the backend and the isolate, and disposes of the isolate first). Returns an internal error if
// V8 could not make the object.
Result<v8::Local<v8::Object>> NewStateNative(v8::Local<v8::Context> context, StateBinding *binding);

}  // namespace sluice::js
