#include "coordinator/rate_meter.h"

#include <algorithm>

namespace sluice::coordinator {

void RateMeter::Add(uint64_t now_ms, uint64_t records_in, uint64_t records_out) {
  if (count_ > 0) {
    const Sample& newest = samples_[(oldest_ + count_ - 1) % kSamples];
    if (now_ms < newest.ms + kSampleMs) return;
    records_in = std::max(records_in, newest.in);
    records_out = std::max(records_out, newest.out);
  }
  // Drop what fell out of the span (keeping one sample to measure from) or has no room.
  while (count_ > 1 && (samples_[oldest_].ms + kSpanMs < now_ms || count_ == kSamples)) {
    oldest_ = (oldest_ + 1) % kSamples;
    --count_;
  }
  samples_[(oldest_ + count_) % kSamples] = Sample{now_ms, records_in, records_out};
  ++count_;
  if (count_ < 2) return;
  const Sample& first = samples_[oldest_];
  const double seconds = static_cast<double>(now_ms - first.ms) / 1000.0;
  in_per_second_ = static_cast<double>(records_in - first.in) / seconds;
  out_per_second_ = static_cast<double>(records_out - first.out) / seconds;
}

}  // namespace sluice::coordinator
