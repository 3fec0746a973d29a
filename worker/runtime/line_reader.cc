#include "worker/runtime/line_reader.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::runtime {

LineReader::~LineReader() {
  if (fd_ >= 0) ::close(fd_);
}

Status LineReader::Open(int64_t offset) {
  // Non-blocking: opening a FIFO that has no writer would otherwise block until one comes,
  // beyond the reach of a cancel.
  fd_ = ::open(options_.path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) {
    return Status::User(options_.label + ": cannot open input file '" + options_.path +
                        "': " + std::strerror(errno));
  }
  struct stat info {};
  if (::fstat(fd_, &info) != 0) {
    return Status::External(options_.label + ": cannot stat '" + options_.path +
                            "': " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) {
    return Status::User(options_.label + ": input file '" + options_.path + "' is a directory");
  }
  is_fifo_ = S_ISFIFO(info.st_mode);
  if (offset > 0 && ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    return Status::External(options_.label + ": cannot seek to byte " + std::to_string(offset) +
                            " of '" + options_.path + "': " + std::strerror(errno));
  }
  buffer_offset_ = offset;
  return Status::Ok();
}

Status LineReader::TooLong() const {
  return Status::User(options_.label + ": line " + std::to_string(line_number_ + 1) +
                      " of '" + options_.path + "' (at byte offset " + std::to_string(offset()) +
                      ") is longer than the limit of " + std::to_string(options_.max_line_bytes) +
                      " bytes (source.file's maxLineBytes, at most the worker's --max-line-bytes)");
}

Result<LineReader::Read> LineReader::Next(std::string_view* line) {
  while (true) {
    const size_t end = buffer_.find('\n', scanned_);
    if (end != std::string::npos) {
      if (end - pos_ > options_.max_line_bytes) return TooLong();
      *line = std::string_view(buffer_.data() + pos_, end - pos_);
      pos_ = end + 1;
      scanned_ = pos_;
      ++line_number_;
      return Read::kLine;
    }
    scanned_ = buffer_.size();
    if (buffer_.size() - pos_ > options_.max_line_bytes) return TooLong();
    if (eof_) {
      if (pos_ >= buffer_.size()) return Read::kEnd;
      *line = std::string_view(buffer_.data() + pos_, buffer_.size() - pos_);
      pos_ = scanned_ = buffer_.size();
      ++line_number_;
      return Read::kLine;
    }
    auto filled = Fill();
    if (!filled.ok()) return filled.status();
    if (*filled == Read::kWaiting) return Read::kWaiting;
  }
}

Result<LineReader::Read> LineReader::Fill() {
  if (options_.cancel != nullptr && options_.cancel->cancelled()) {
    return Status::Cancelled(options_.label + ": cancelled");
  }
  // Lines already returned are dropped; the partial line moves to the front.
  buffer_.erase(0, pos_);
  buffer_offset_ += static_cast<int64_t>(pos_);
  scanned_ -= pos_;
  pos_ = 0;
  const size_t old = buffer_.size();
  buffer_.resize(old + kBlockBytes);
  ssize_t got = ::read(fd_, buffer_.data() + old, kBlockBytes);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    struct pollfd poll_fd {fd_, POLLIN, 0};
    ::poll(&poll_fd, 1, static_cast<int>(options_.wait.count()));
    got = ::read(fd_, buffer_.data() + old, kBlockBytes);
  }
  const int error = errno;
  buffer_.resize(old + static_cast<size_t>(got > 0 ? got : 0));
  if (got > 0) {
    seen_data_ = true;
    return Read::kLine;
  }
  if (got < 0 && error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
    return Status::External(options_.label + ": cannot read '" + options_.path +
                            "': " + std::strerror(error));
  }
  if (got == 0 && (!is_fifo_ || seen_data_)) {
    eof_ = true;
    return Read::kLine;
  }
  // A FIFO whose writer has not come yet reads 0 bytes at once (and polls as readable): wait
  // here, on the cancel signal, rather than spin.
  if (got == 0 && options_.cancel != nullptr) {
    options_.cancel->SleepUntil(std::chrono::steady_clock::now() + options_.wait);
  }
  return Read::kWaiting;
}

}  // namespace sluice::runtime
