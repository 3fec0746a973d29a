#pragma once

namespace v8 {
class Platform;
}  // namespace v8

namespace sluice::js {

// Initialises V8 for the process (platform, flags, V8::Initialize) on the first
// call; later calls return at once. Thread-safe. V8 is never disposed: it lives
// until the process exits.
v8::Platform &V8Platform();

}  // namespace sluice::js
