#pragma once

#include <string>

namespace v8 {
class Platform;
}  // namespace v8

namespace sluice::js {

// Initialises V8 for the process (platform, flags, V8::Initialize) on the first
// call; later calls return at once. Thread-safe. V8 is never disposed: it lives
// until the process exits.
v8::Platform &V8Platform();

// The threads of V8's one pool for the background work of every isolate in the process
// (TurboFan compiles, concurrent marking, parallel scavenges): one per core but one, at least
// kMinV8WorkerThreads (as Node's default pool of 4), or SLUICE_V8_THREADS (1 to
// kMaxV8WorkerThreads). V8's own default, cores - 1, is one thread on a 2-core machine, shared by
// every task's isolate: at parallelism 2 Nexmark q5 runs six, their compile queues fill (V8's
// "Compilation queue full" ~330-460 times a run, against ~6 at parallelism 1) and hot functions
// run unoptimised for longer (bench/RESULTS.md, issue 17, branch p2y).
inline constexpr int kMinV8WorkerThreads = 4;
inline constexpr int kMaxV8WorkerThreads = 16;
int V8WorkerThreads();

// The V8 flags V8Platform() sets: Sluice's own (kV8Flags), then SLUICE_V8_FLAGS (for profiling,
// e.g. --perf-basic-prof with `perf record`), whose flags win where both set one.
//
// kV8Flags: TurboFan inlines into one optimised function at most
// --max-inlined-bytecode-size-cumulative bytes of bytecode (920 by default). A chain's driver
// loop calls the source (the Nexmark generator alone is ~900 bytes when inlined), the user's
// functions, the key memo and the window's fast path per record: at the default the budget is
// gone before the operator's calls are reached, which then stay calls (with their arguments
// boxed). 2000 lets them be inlined: q7 ~3 %, q0 ~6 %, q11 ~7 % less CPU at parallelism 1
// (bench/RESULTS.md, issue 17, branch q7c).
inline constexpr const char *kV8Flags = "--max-inlined-bytecode-size-cumulative=2000";
std::string V8Flags();

}  // namespace sluice::js
