#pragma once

#include <cstdint>

#include "common/status.h"

namespace sluice::state {

// Key groups are stored as 2 bytes big-endian in front of each key, so there are at most 65536.
inline constexpr uint32_t kMaxKeyGroups = 65536;

// A contiguous range of key groups [first, last]; empty when first > last.
struct KeyGroupRange {
  uint32_t first = 0;
  uint32_t last = 0;

  bool empty() const { return first > last; }
  bool Contains(uint32_t key_group) const { return first <= key_group && key_group <= last; }
  bool Overlaps(const KeyGroupRange &other) const {
    return !empty() && !other.empty() && first <= other.last && other.first <= last;
  }
  // The key groups in both (empty when they do not overlap).
  KeyGroupRange Intersect(const KeyGroupRange &other) const;
  bool operator==(const KeyGroupRange &other) const {
    return first == other.first && last == other.last;
  }
};

// The key groups that subtask `subtask` of `parallelism` owns out of `max_parallelism`: those kg
// with floor(kg * parallelism / max_parallelism) == subtask, as the HASH exchange routes records
// (worker/js/runtime/keys.js targetOf). Empty when parallelism > max_parallelism leaves the
// subtask none. An internal error for parallelism 0, subtask >= parallelism, or a
// max_parallelism of 0 or above kMaxKeyGroups.
Result<KeyGroupRange> KeyGroupRangeOf(uint32_t subtask, uint32_t parallelism,
                                      uint32_t max_parallelism);

}  // namespace sluice::state
