#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/ids.h"

namespace sluice::coordinator::http {

// The latest records each job's stdout and collect sinks produced, kept so the HTTP API's event
// streams can show them: a bounded ring per job, so a slow or absent reader never holds a job
// back (the oldest records are overwritten, and a reader that falls behind is told how many it
// missed). Records are numbered per job from 0; records a worker dropped before sending them
// still take their numbers, so they count as missed too.
//
// Created with the HTTP API, before the coordinator starts; Append is called on the
// coordinator's gRPC threads, Read and Wait on the HTTP threads. Thread-safe.
class OutputBuffers {
 public:
  explicit OutputBuffers(size_t records_per_job = 2000, size_t max_bytes_per_job = 4 << 20,
                         size_t max_jobs = 64);

  void Append(const JobId& job, const std::vector<std::string>& records, uint64_t dropped);

  struct Slice {
    std::vector<std::string> records;
    uint64_t next = 0;     // the number after the last record returned: the reader's new cursor
    uint64_t skipped = 0;  // records from `from` on the reader will never see
  };
  // Up to `max` records numbered `from` or later.
  Slice Read(const JobId& job, uint64_t from, size_t max) const;
  // Waits until the job has a record numbered `from` or later, at most `timeout`.
  void Wait(const JobId& job, uint64_t from, std::chrono::milliseconds timeout) const;
  // Wakes every waiter (the server is stopping).
  void WakeAll();

 private:
  struct Ring {
    std::deque<std::pair<uint64_t, std::string>> records;  // (number, record), ascending
    uint64_t end = 0;                                      // the next record's number
    size_t bytes = 0;
    uint64_t touched = 0;  // for evicting the least recently written job
  };
  size_t records_per_job_;
  size_t max_bytes_per_job_;
  size_t max_jobs_;
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  std::map<JobId, Ring> rings_;
  uint64_t clock_ = 0;
};

}  // namespace sluice::coordinator::http
