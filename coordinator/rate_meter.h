#pragma once

// Records per second of one task, from the counters its worker reports with every heartbeat.
// A task's counters move in whole batches: a source held back by a slow consumer sends one
// batch of 4,096 records every few seconds. A rate over the last report interval alone would
// then read 0 most of the time and the batch's size the rest. So the meter keeps samples at
// least kSampleMs apart over the last kSpanMs and gives the rate over that whole span (Flink's
// meters do the same over 60 s). Fixed size: heartbeats carry every task, so Add stays constant
// time.

#include <array>
#include <cstddef>
#include <cstdint>

namespace sluice::coordinator {

class RateMeter {
 public:
  static constexpr uint64_t kSampleMs = 500;
  static constexpr uint64_t kSpanMs = 10'000;

  // Counters as of `now_ms` (counters never go back; a smaller value counts as unchanged).
  void Add(uint64_t now_ms, uint64_t records_in, uint64_t records_out);

  // Per second over the span of the samples kept; 0 before two samples kSampleMs apart.
  double in_per_second() const { return in_per_second_; }
  double out_per_second() const { return out_per_second_; }

 private:
  struct Sample {
    uint64_t ms = 0;
    uint64_t in = 0;
    uint64_t out = 0;
  };
  // kSpanMs / kSampleMs samples cover the span; one more is its start.
  static constexpr std::size_t kSamples = kSpanMs / kSampleMs + 1;
  static_assert(kSamples > 1);

  std::array<Sample, kSamples> samples_{};
  std::size_t oldest_ = 0;  // index of the oldest sample kept
  std::size_t count_ = 0;   // samples kept
  double in_per_second_ = 0;
  double out_per_second_ = 0;
};

}  // namespace sluice::coordinator
