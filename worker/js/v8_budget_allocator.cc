#include "worker/js/v8_budget_allocator.h"

#include <cstdlib>

namespace sluice::js {

bool BudgetAllocator::Reserve(size_t length) {
  size_t used = in_use_.load(std::memory_order_relaxed);
  do {
    if (length > budget_ || used > budget_ - length) {
      size_t seen = refused_.load(std::memory_order_relaxed);
      while (length > seen && !refused_.compare_exchange_weak(seen, length)) {
      }
      return false;
    }
  } while (!in_use_.compare_exchange_weak(used, used + length, std::memory_order_relaxed));
  return true;
}

void* BudgetAllocator::Allocate(size_t length) {
  if (!Reserve(length)) return nullptr;
  void* data = std::calloc(length == 0 ? 1 : length, 1);
  if (data == nullptr) in_use_.fetch_sub(length, std::memory_order_relaxed);
  return data;
}

void* BudgetAllocator::AllocateUninitialized(size_t length) {
  if (!Reserve(length)) return nullptr;
  void* data = std::malloc(length == 0 ? 1 : length);
  if (data == nullptr) in_use_.fetch_sub(length, std::memory_order_relaxed);
  return data;
}

void BudgetAllocator::Free(void* data, size_t length) {
  if (data == nullptr) return;
  std::free(data);
  in_use_.fetch_sub(length, std::memory_order_relaxed);
}

}  // namespace sluice::js
