#include "worker/js/v8_platform.h"

#include <libplatform/libplatform.h>
#include <v8-initialization.h>

#include <memory>
#include <mutex>

namespace sluice::js {

v8::Platform &V8Platform() {
  // Leaked on purpose: isolates may still exist while static destructors run at
  // exit.
  static v8::Platform *platform = [] {
    std::unique_ptr<v8::Platform> owned = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(owned.get());
    v8::V8::Initialize();
    return owned.release();
  }();
  return *platform;
}

}  // namespace sluice::js
