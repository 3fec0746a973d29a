#include "worker/output_tap.h"

#include <algorithm>

namespace sluice::worker {

OutputTap::OutputTap(Send send, size_t max_records_per_job, std::chrono::milliseconds interval)
    : send_(std::move(send)), max_records_(max_records_per_job), interval_(interval) {}

OutputTap::~OutputTap() { Stop(); }

void OutputTap::Start() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void OutputTap::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void OutputTap::Add(const JobId& job, std::string_view json_lines) {
  std::lock_guard<std::mutex> lock(mutex_);
  Pending& pending = pending_[job];
  while (!json_lines.empty()) {
    size_t end = json_lines.find('\n');
    if (end == std::string_view::npos) end = json_lines.size();
    if (pending.records.size() < max_records_) {
      pending.records.emplace_back(json_lines.substr(0, end));
      json_lines.remove_prefix(std::min(end + 1, json_lines.size()));
    } else {
      // Full: count the rest without copying it.
      pending.dropped += static_cast<uint64_t>(std::count(json_lines.begin(), json_lines.end(), '\n'));
      if (json_lines.back() != '\n') ++pending.dropped;
      break;
    }
  }
}

void OutputTap::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [&] { return stopping_; });
    std::map<JobId, Pending> batch;
    batch.swap(pending_);
    lock.unlock();
    for (auto& [job, pending] : batch) {
      if (!pending.records.empty() || pending.dropped > 0) {
        send_(job, std::move(pending.records), pending.dropped);
      }
    }
    lock.lock();
  }
}

}  // namespace sluice::worker
