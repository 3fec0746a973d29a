#include "worker/runtime/source_driver.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "connectors/kafka/kafka_source.h"

namespace sluice::runtime {
namespace {

using Clock = std::chrono::steady_clock;

nlohmann::json ParseConfig(const std::string& config_json) {
  auto config = nlohmann::json::parse(config_json.empty() ? "{}" : config_json, nullptr, false);
  return config.is_object() ? config : nlohmann::json::object();
}

// Keeps a source at or below `rate` records per second (0: unlimited), sleeping between
// batches so that cancellation stays prompt.
class Pacer {
 public:
  Pacer(double rate, CancelSignal* cancel) : rate_(rate), cancel_(cancel) {}

  // How many records may go now (at most `wanted`); waits when the budget is spent, but not
  // past `until`. Returns 0 when cancelled or when `until` came first.
  int64_t Acquire(int64_t wanted, Clock::time_point until) {
    if (rate_ <= 0) return wanted;
    while (true) {
      double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
      int64_t allowed = static_cast<int64_t>(elapsed * rate_) + 1 - sent_;
      if (allowed > 0) {
        int64_t n = std::min(wanted, allowed);
        sent_ += n;
        return n;
      }
      auto next = start_ + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>((sent_ + 1) / rate_));
      if (next > until) {
        cancel_->SleepUntil(until);
        return 0;
      }
      if (!cancel_->SleepUntil(next)) return 0;
    }
  }

 private:
  double rate_;
  CancelSignal* cancel_;
  Clock::time_point start_ = Clock::now();
  int64_t sent_ = 0;
};

// source.generator and source.nexmark: records are built inside the chain from their index;
// this side only chooses the indexes (subtask s of P takes s, s+P, ...) and paces them.
class GeneratedSource : public SourceDriver {
 public:
  static constexpr std::chrono::milliseconds kMaxWait{50};

  GeneratedSource(std::optional<int64_t> total, double rate, const SourceContext& context)
      : context_(context), pacer_(rate / context.parallelism, context.cancel) {
    next_ = context.subtask;
    if (total.has_value()) {
      // Indexes below `total` that belong to this subtask.
      int64_t p = context.parallelism;
      remaining_ = *total > next_ ? (*total - next_ + p - 1) / p : 0;
    }
  }

  Result<std::optional<js::BatchResult>> Next(js::ChainRunner& chain) override {
    if (remaining_.has_value() && *remaining_ == 0) return std::optional<js::BatchResult>();
    int64_t wanted = context_.batch_size;
    if (remaining_.has_value()) wanted = std::min(wanted, *remaining_);
    // A slow source still comes back every kMaxWait, so its task can move time on.
    int64_t n = pacer_.Acquire(wanted, Clock::now() + kMaxWait);
    if (n == 0) {
      if (context_.cancel->cancelled()) return Status::Cancelled("cancelled");
      return std::optional<js::BatchResult>(js::BatchResult{});
    }
    auto batch = chain.RunGenerated(next_, context_.parallelism, static_cast<int32_t>(n));
    if (!batch.ok()) return batch.status();
    next_ += n * context_.parallelism;
    if (remaining_.has_value()) *remaining_ -= n;
    return std::optional<js::BatchResult>(std::move(batch).value());
  }

 private:
  SourceContext context_;
  Pacer pacer_;
  int64_t next_ = 0;
  std::optional<int64_t> remaining_;
};

// source.file: reads the file in large blocks and hands whole lines to the chain; subtask s of
// P keeps the lines whose index i has i mod P == s.
class FileSource : public SourceDriver {
 public:
  FileSource(std::string path, const SourceContext& context)
      : path_(std::move(path)), context_(context) {}
  ~FileSource() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  Status Open() {
    file_ = std::fopen(path_.c_str(), "rb");
    if (file_ == nullptr) {
      return Status::User(context_.operator_label + ": cannot open input file '" + path_ +
                          "': " + std::strerror(errno));
    }
    return Status::Ok();
  }

  Result<std::optional<js::BatchResult>> Next(js::ChainRunner& chain) override {
    std::string text;
    int lines = 0;
    while (lines < context_.batch_size && text.size() < kMaxBatchBytes) {
      auto line = NextLine();
      if (!line.ok()) return line.status();
      if (!line->has_value()) break;
      if (line_index_++ % context_.parallelism != context_.subtask) continue;
      text.append(**line);
      text.push_back('\n');
      ++lines;
    }
    if (lines == 0) return std::optional<js::BatchResult>();
    auto batch = chain.RunText(text);
    if (!batch.ok()) return batch.status();
    return std::optional<js::BatchResult>(std::move(batch).value());
  }

 private:
  static constexpr size_t kBlockBytes = 1 << 20;
  static constexpr size_t kMaxBatchBytes = 1 << 20;

  // The next line without its '\n', or nullopt at the end of the file.
  Result<std::optional<std::string_view>> NextLine() {
    while (true) {
      size_t end = buffer_.find('\n', pos_);
      if (end != std::string::npos) {
        std::string_view line(buffer_.data() + pos_, end - pos_);
        pos_ = end + 1;
        return std::optional<std::string_view>(line);
      }
      if (eof_) {
        if (pos_ >= buffer_.size()) return std::optional<std::string_view>();
        std::string_view line(buffer_.data() + pos_, buffer_.size() - pos_);
        pos_ = buffer_.size();
        return std::optional<std::string_view>(line);
      }
      buffer_.erase(0, pos_);
      pos_ = 0;
      size_t old = buffer_.size();
      buffer_.resize(old + kBlockBytes);
      size_t got = std::fread(buffer_.data() + old, 1, kBlockBytes, file_);
      buffer_.resize(old + got);
      if (got < kBlockBytes) {
        if (std::ferror(file_)) {
          return Status::External(context_.operator_label + ": cannot read '" + path_ +
                                  "': " + std::strerror(errno));
        }
        eof_ = true;
      }
    }
  }

  std::string path_;
  SourceContext context_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
  size_t pos_ = 0;
  bool eof_ = false;
  uint64_t line_index_ = 0;
};

}  // namespace

Result<std::unique_ptr<SourceDriver>> MakeSourceDriver(const std::string& kind,
                                                       const std::string& config_json,
                                                       const SourceContext& context) {
  nlohmann::json config = ParseConfig(config_json);
  if (kind == "source.file") {
    if (!config.contains("path") || !config["path"].is_string()) {
      return Status::User(context.operator_label + ": config needs a string 'path'");
    }
    SourceContext file_context = context;
    if (config.contains("batchSize") && config["batchSize"].is_number_integer() &&
        config["batchSize"].get<int64_t>() > 0) {
      file_context.batch_size = static_cast<int32_t>(
          std::min<int64_t>(config["batchSize"].get<int64_t>(), context.batch_size));
    }
    auto source = std::make_unique<FileSource>(config["path"].get<std::string>(), file_context);
    SLUICE_RETURN_IF_ERROR(source->Open());
    return std::unique_ptr<SourceDriver>(std::move(source));
  }
  if (kind == "source.generator" || kind == "source.nexmark") {
    const char* count_field = kind == "source.generator" ? "count" : "events";
    std::optional<int64_t> total;
    if (config.contains(count_field) && config[count_field].is_number()) {
      total = config[count_field].get<int64_t>();
    }
    double rate =
        config.contains("rate") && config["rate"].is_number() ? config["rate"].get<double>() : 0.0;
    return std::unique_ptr<SourceDriver>(new GeneratedSource(total, rate, context));
  }
  if (kind == "source.kafka") return kafka::MakeKafkaSource(config_json, context);
  return Status::User(context.operator_label + ": unknown source kind '" + kind + "'");
}

std::string SourceTextFormat(const std::string& kind, const std::string& config_json) {
  nlohmann::json config = ParseConfig(config_json);
  if (kind == "source.file" && config.contains("format") && config["format"] == "json") {
    return "json";
  }
  if (kind == "source.kafka") return "json";  // every message is one JSON line
  return "lines";
}

}  // namespace sluice::runtime
