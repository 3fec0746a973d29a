#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "worker/runtime/source_driver.h"

namespace sluice::runtime {

// Reads the lines of a file for source.file: in large blocks, each line at most
// `max_line_bytes` long (a longer one fails the source, naming the file and the line's byte
// offset, so memory stays bounded whatever the file holds: /dev/zero has no newline), and so
// that a cancel stops it within about `wait` whatever it is reading: the file is opened
// non-blocking and a read that would block (a FIFO without data, or without a writer yet)
// polls for at most `wait`, then hands control back with Read::kWaiting.
//
// Created, used and destroyed on the task thread; owned by its FileSource. The CancelSignal
// must outlive it.
class LineReader {
 public:
  struct Options {
    std::string path;
    std::string label;  // "operator 'name' (id)", for errors
    size_t max_line_bytes = size_t{16} << 20;
    CancelSignal* cancel = nullptr;
    std::chrono::milliseconds wait{50};
  };
  enum class Read { kLine, kWaiting, kEnd };

  explicit LineReader(Options options) : options_(std::move(options)) {}
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens the file and seeks to `offset` (a restored source; 0: the start).
  Status Open(int64_t offset);
  // The next line (without its '\n') in *line when kLine; kWaiting when no data came within
  // `wait`; kEnd at the end of the file. Cancelled once the CancelSignal fired. *line stays
  // valid until the next call.
  Result<Read> Next(std::string_view* line);
  // The file offset of the first byte not yet returned as part of a line.
  int64_t offset() const { return buffer_offset_ + static_cast<int64_t>(pos_); }

 private:
  static constexpr size_t kBlockBytes = 1 << 20;
  // Reads one more block into the buffer: kLine when bytes came, kWaiting or kEnd otherwise.
  Result<Read> Fill();
  Status TooLong() const;

  Options options_;
  int fd_ = -1;
  bool is_fifo_ = false;
  bool seen_data_ = false;  // a FIFO's writer wrote: from now on a read of 0 bytes is the end
  bool eof_ = false;
  std::string buffer_;
  size_t pos_ = 0;             // where the next line starts in buffer_
  size_t scanned_ = 0;         // buffer_[pos_, scanned_) holds no '\n'
  int64_t buffer_offset_ = 0;  // the file offset of buffer_[0]
  int64_t line_number_ = 0;    // lines returned so far (since Open), for errors
};

}  // namespace sluice::runtime
