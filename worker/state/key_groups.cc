#include "worker/state/key_groups.h"

#include <algorithm>
#include <string>

namespace sluice::state {

KeyGroupRange KeyGroupRange::Intersect(const KeyGroupRange &other) const {
  if (!Overlaps(other)) return KeyGroupRange{1, 0};
  return KeyGroupRange{std::max(first, other.first), std::min(last, other.last)};
}

Result<KeyGroupRange> KeyGroupRangeOf(uint32_t subtask, uint32_t parallelism,
                                      uint32_t max_parallelism) {
  if (parallelism == 0 || subtask >= parallelism || max_parallelism == 0 ||
      max_parallelism > kMaxKeyGroups) {
    return Status::Internal("no key-group range for subtask " + std::to_string(subtask) +
                            " of parallelism " + std::to_string(parallelism) +
                            " with max parallelism " + std::to_string(max_parallelism));
  }
  // floor(kg * P / maxP) == s  <=>  s * maxP <= kg * P < (s + 1) * maxP, so the range runs from
  // ceil(s * maxP / P) to ceil((s + 1) * maxP / P) - 1.
  const uint64_t p = parallelism;
  const uint64_t max = max_parallelism;
  const auto ceil_div = [](uint64_t a, uint64_t b) { return (a + b - 1) / b; };
  const uint64_t first = ceil_div(subtask * max, p);
  const uint64_t end = ceil_div((subtask + uint64_t{1}) * max, p);
  if (end == first) return KeyGroupRange{1, 0};
  return KeyGroupRange{static_cast<uint32_t>(first), static_cast<uint32_t>(end - 1)};
}

}  // namespace sluice::state
