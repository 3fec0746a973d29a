#include "coordinator/http/output_buffers.h"

#include <algorithm>

namespace sluice::coordinator::http {

OutputBuffers::OutputBuffers(size_t records_per_job, size_t max_bytes_per_job, size_t max_jobs)
    : records_per_job_(records_per_job),
      max_bytes_per_job_(max_bytes_per_job),
      max_jobs_(max_jobs) {}

void OutputBuffers::Append(const JobId& job, const std::vector<std::string>& records,
                           uint64_t dropped) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (rings_.find(job) == rings_.end() && rings_.size() >= max_jobs_) {
      auto oldest = std::min_element(rings_.begin(), rings_.end(), [](const auto& a, const auto& b) {
        return a.second.touched < b.second.touched;
      });
      rings_.erase(oldest);
    }
    Ring& ring = rings_[job];
    ring.touched = ++clock_;
    ring.end += dropped;
    for (const auto& record : records) {
      ring.bytes += record.size();
      ring.records.emplace_back(ring.end++, record);
    }
    while (!ring.records.empty() &&
           (ring.records.size() > records_per_job_ || ring.bytes > max_bytes_per_job_)) {
      ring.bytes -= ring.records.front().second.size();
      ring.records.pop_front();
    }
  }
  cv_.notify_all();
}

OutputBuffers::Slice OutputBuffers::Read(const JobId& job, uint64_t from, size_t max) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Slice slice;
  slice.next = from;
  auto it = rings_.find(job);
  if (it == rings_.end()) return slice;
  const Ring& ring = it->second;
  auto first = std::lower_bound(
      ring.records.begin(), ring.records.end(), from,
      [](const std::pair<uint64_t, std::string>& entry, uint64_t n) { return entry.first < n; });
  if (first == ring.records.end()) {
    slice.skipped = ring.end > from ? ring.end - from : 0;
    slice.next = std::max(from, ring.end);
    return slice;
  }
  slice.skipped = first->first - from;
  uint64_t last = first->first;
  for (auto entry = first; entry != ring.records.end() && slice.records.size() < max; ++entry) {
    slice.records.push_back(entry->second);
    last = entry->first;
  }
  slice.next = last + 1;
  // Trailing records the worker dropped after the last one kept are skipped too.
  if (slice.records.size() < max && ring.end > slice.next) {
    slice.skipped += ring.end - slice.next;
    slice.next = ring.end;
  }
  return slice;
}

void OutputBuffers::Wait(const JobId& job, uint64_t from, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, timeout, [&] {
    auto it = rings_.find(job);
    return it != rings_.end() && it->second.end > from;
  });
}

void OutputBuffers::WakeAll() { cv_.notify_all(); }

}  // namespace sluice::coordinator::http
