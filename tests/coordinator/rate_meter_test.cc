#include "coordinator/rate_meter.h"

#include <gtest/gtest.h>

namespace sluice::coordinator {
namespace {

TEST(RateMeterTest, NoRateBeforeTwoSamplesHalfASecondApart) {
  RateMeter meter;
  meter.Add(1000, 0, 0);
  meter.Add(1200, 500, 500);  // too close to the first: not a sample
  EXPECT_EQ(meter.in_per_second(), 0);
  meter.Add(1500, 500, 1000);
  EXPECT_DOUBLE_EQ(meter.in_per_second(), 1000);
  EXPECT_DOUBLE_EQ(meter.out_per_second(), 2000);
}

// A source held back by a slow consumer sends one batch of 4,096 every 4 s, reported once a
// second: the rate stays near 1,024 per second instead of falling to 0 between batches.
TEST(RateMeterTest, BatchesSeveralSecondsApartGiveASteadyRate) {
  RateMeter meter;
  uint64_t out = 0;
  for (uint64_t second = 0; second <= 60; ++second) {
    if (second % 4 == 1) out += 4096;
    meter.Add(second * 1000, out, out);
    if (second >= 12) {
      EXPECT_GE(meter.out_per_second(), 4096.0 * 2 / 10) << "at " << second << " s";
      EXPECT_LE(meter.out_per_second(), 4096.0 * 3 / 10) << "at " << second << " s";
    }
  }
}

TEST(RateMeterTest, ForgetsWhatIsOlderThanTheSpan) {
  RateMeter meter;
  meter.Add(0, 0, 0);
  meter.Add(500, 100'000, 100'000);  // a burst at the start
  for (uint64_t ms = 1000; ms <= 30'000; ms += 500) meter.Add(ms, 100'000, 100'000);
  EXPECT_EQ(meter.in_per_second(), 0);
  meter.Add(30'500, 100'500, 100'000);
  EXPECT_DOUBLE_EQ(meter.in_per_second(), 500.0 / 10);
  EXPECT_EQ(meter.out_per_second(), 0);
}

TEST(RateMeterTest, ACounterThatGoesBackCountsAsUnchanged) {
  RateMeter meter;
  meter.Add(0, 1000, 1000);
  meter.Add(1000, 500, 3000);
  EXPECT_EQ(meter.in_per_second(), 0);
  EXPECT_DOUBLE_EQ(meter.out_per_second(), 2000);
}

}  // namespace
}  // namespace sluice::coordinator
