#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/ids.h"

namespace sluice::worker {

// What stdout sinks print, copied for the coordinator so people can watch a job's output (the
// HTTP API's output events). Never slows a task: Add() copies into a bounded buffer per job and
// only counts what does not fit; a thread of its own sends the buffers every `interval` through
// `send`, so a slow coordinator only makes the counts grow.
//
// Owned by the WorkerNode: Start() after registering, Stop() before the node goes; Add() from
// task threads. Thread-safe.
class OutputTap {
 public:
  using Send = std::function<void(const JobId& job, std::vector<std::string> records,
                                  uint64_t dropped)>;
  explicit OutputTap(Send send, size_t max_records_per_job = 1000,
                     std::chrono::milliseconds interval = std::chrono::milliseconds(100));
  ~OutputTap();

  void Start();
  void Stop();
  // `json_lines`: records, one per line, each ending with '\n'.
  void Add(const JobId& job, std::string_view json_lines);

 private:
  struct Pending {
    std::vector<std::string> records;
    uint64_t dropped = 0;
  };
  void Loop();

  Send send_;
  size_t max_records_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<JobId, Pending> pending_;
  std::thread thread_;
};

}  // namespace sluice::worker
