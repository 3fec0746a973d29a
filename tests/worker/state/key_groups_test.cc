#include "worker/state/key_groups.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace sluice::state {
namespace {

// Which subtask the HASH exchange sends key group kg to (worker/js/runtime/keys.js targetOf).
uint32_t TargetOf(uint32_t key_group, uint32_t parallelism, uint32_t max_parallelism) {
  return static_cast<uint32_t>(uint64_t{key_group} * parallelism / max_parallelism);
}

TEST(KeyGroupsTest, RangesAreExactlyTheKeyGroupsTheExchangeRoutesToEachSubtask) {
  const std::vector<uint32_t> maxima = {1, 2, 3, 7, 10, 128, 1000, 4096, kMaxKeyGroups};
  const std::vector<uint32_t> parallelisms = {1, 2, 3, 4, 5, 7, 16, 100, 129};
  for (uint32_t max_parallelism : maxima) {
    for (uint32_t parallelism : parallelisms) {
      std::vector<uint32_t> owner(max_parallelism, UINT32_MAX);
      uint32_t next = 0;  // ranges are contiguous and in subtask order
      for (uint32_t subtask = 0; subtask < parallelism; ++subtask) {
        Result<KeyGroupRange> range = KeyGroupRangeOf(subtask, parallelism, max_parallelism);
        ASSERT_TRUE(range.ok()) << range.status().message();
        if (range->empty()) continue;
        ASSERT_EQ(range->first, next) << subtask << "/" << parallelism << " of " << max_parallelism;
        for (uint32_t kg = range->first; kg <= range->last; ++kg) owner[kg] = subtask;
        next = range->last + 1;
      }
      ASSERT_EQ(next, max_parallelism) << parallelism << " of " << max_parallelism;
      for (uint32_t kg = 0; kg < max_parallelism; ++kg) {
        ASSERT_EQ(owner[kg], TargetOf(kg, parallelism, max_parallelism))
            << "key group " << kg << ", parallelism " << parallelism << " of " << max_parallelism;
      }
    }
  }
}

TEST(KeyGroupsTest, KnownRanges) {
  EXPECT_EQ(*KeyGroupRangeOf(0, 1, 128), (KeyGroupRange{0, 127}));
  EXPECT_EQ(*KeyGroupRangeOf(0, 3, 128), (KeyGroupRange{0, 42}));
  EXPECT_EQ(*KeyGroupRangeOf(1, 3, 128), (KeyGroupRange{43, 85}));
  EXPECT_EQ(*KeyGroupRangeOf(2, 3, 128), (KeyGroupRange{86, 127}));
  // More subtasks than key groups: some own none.
  EXPECT_EQ(*KeyGroupRangeOf(1, 3, 2), (KeyGroupRange{1, 1}));
  EXPECT_TRUE(KeyGroupRangeOf(2, 3, 2)->empty());
}

TEST(KeyGroupsTest, IntersectAndOverlap) {
  const KeyGroupRange a{10, 20}, b{20, 30}, c{21, 25};
  EXPECT_TRUE(a.Overlaps(b));
  EXPECT_FALSE(a.Overlaps(c));
  EXPECT_EQ(a.Intersect(b), (KeyGroupRange{20, 20}));
  EXPECT_TRUE(a.Intersect(c).empty());
  EXPECT_FALSE((KeyGroupRange{1, 0}).Overlaps(a));
}

TEST(KeyGroupsTest, BadArgumentsAreErrors) {
  EXPECT_FALSE(KeyGroupRangeOf(0, 0, 128).ok());
  EXPECT_FALSE(KeyGroupRangeOf(2, 2, 128).ok());
  EXPECT_FALSE(KeyGroupRangeOf(0, 1, 0).ok());
  Result<KeyGroupRange> too_many = KeyGroupRangeOf(0, 1, kMaxKeyGroups + 1);
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().message(),
            "no key-group range for subtask 0 of parallelism 1 with max parallelism 65537");
}

}  // namespace
}  // namespace sluice::state
