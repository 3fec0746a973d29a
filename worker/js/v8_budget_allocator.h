#pragma once

#include <v8-array-buffer.h>

#include <atomic>
#include <cstddef>

namespace sluice::js {

// The ArrayBuffer allocator of one task's isolate: the contents of its ArrayBuffers and typed
// arrays (memory outside the JS heap) may take at most `budget_bytes` in all. An allocation
// past the budget returns nullptr, which V8 turns into a RangeError ("Array buffer allocation
// failed") after a GC and one retry; the runner then reports the operator (see
// V8ChainRunner::ExceptionStatus), and the worker goes on serving.
//
// Lifecycle: created with the isolate's CreateParams, destroyed after the isolate is disposed
// (the runner owns both). Threads: V8 allocates on the isolate's thread and may free on its
// background threads, so the counters are atomics.
class BudgetAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit BudgetAllocator(size_t budget_bytes) : budget_(budget_bytes) {}

  void* Allocate(size_t length) override;
  void* AllocateUninitialized(size_t length) override;
  void Free(void* data, size_t length) override;

  size_t budget() const { return budget_; }
  size_t in_use() const { return in_use_.load(std::memory_order_relaxed); }
  // The largest allocation refused since the last TakeRefused() (0: none), then forgets it.
  size_t TakeRefused() { return refused_.exchange(0); }

 private:
  // Reserves `length` bytes of the budget; false (and remembers the refusal) when over it.
  bool Reserve(size_t length);

  const size_t budget_;
  std::atomic<size_t> in_use_{0};
  std::atomic<size_t> refused_{0};
};

}  // namespace sluice::js
