#include "worker/js/v8_platform.h"

#include <libplatform/libplatform.h>
#include <v8-initialization.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

namespace sluice::js {

int V8WorkerThreads() {
  if (const char *env = std::getenv("SLUICE_V8_THREADS")) {
    const int n = std::atoi(env);
    if (n >= 1) return std::min(n, kMaxV8WorkerThreads);
  }
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores - 1, kMinV8WorkerThreads, kMaxV8WorkerThreads);
}

std::string V8Flags() {
  std::string flags = kV8Flags;
  if (const char *env = std::getenv("SLUICE_V8_FLAGS")) flags += std::string(" ") + env;
  return flags;
}

v8::Platform &V8Platform() {
  // Leaked on purpose: isolates may still exist while static destructors run at
  // exit.
  static v8::Platform *platform = [] {
    const std::string flags = V8Flags();
    v8::V8::SetFlagsFromString(flags.data(), flags.size());
    std::unique_ptr<v8::Platform> owned = v8::platform::NewDefaultPlatform(V8WorkerThreads());
    v8::V8::InitializePlatform(owned.get());
    v8::V8::Initialize();
    return owned.release();
  }();
  return *platform;
}

}  // namespace sluice::js
