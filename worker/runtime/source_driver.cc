#include "worker/runtime/source_driver.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "worker/runtime/file_reach.h"
#include "worker/runtime/index_share.h"
#include "worker/runtime/line_reader.h"
#include "worker/runtime/worker_io_kinds.h"

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
// this side only chooses the indexes (the subtask's IndexShare) and paces them.
class GeneratedSource : public SourceDriver {
 public:
  static constexpr std::chrono::milliseconds kMaxWait{50};

  GeneratedSource(std::optional<int64_t> total, double rate, const SourceContext& context,
                  IndexShare share)
      : context_(context),
        pacer_(rate / context.parallelism, context.cancel),
        total_(total),
        share_(std::move(share)) {}

  Result<InputBatch> Next() override {
    // Indexes up to the next one emitted before a restore go in one arithmetic run.
    const int64_t available = share_.RunLength(total_.value_or(INT64_MAX));
    if (available == 0) return InputBatch::End();
    const int64_t wanted = std::min<int64_t>(context_.batch_size, available);
    // A slow source still comes back every kMaxWait, so its task can move time on.
    int64_t n = pacer_.Acquire(wanted, Clock::now() + kMaxWait);
    if (n == 0) {
      if (context_.cancel->cancelled()) return Status::Cancelled("cancelled");
      return InputBatch{};
    }
    InputBatch batch;
    batch.generated = IndexRun{share_.next(), share_.parallelism(), static_cast<int32_t>(n)};
    share_.Advance(n);
    return batch;
  }

  std::string Position() const override { return share_.ToJson().dump(); }

 private:
  SourceContext context_;
  Pacer pacer_;
  std::optional<int64_t> total_;  // indexes below it exist; unbounded without
  IndexShare share_;
};

// source.file: reads the file's lines (line_reader.h: bounded lines, cancellable reads) and
// hands whole lines to the chain; the line indexes the subtask emits are its IndexShare (fresh:
// i mod P == s). Its position adds where the reading stood (line index and byte offset), so a
// restored source seeks instead of reading the lines before it again.
class FileSource : public SourceDriver {
 public:
  // Reading starts at line `start_line`, at byte `start_offset`.
  FileSource(LineReader::Options options, const SourceContext& context, IndexShare share,
             int64_t start_line = 0, int64_t start_offset = 0)
      : reader_(std::move(options)),
        context_(context),
        share_(std::move(share)),
        line_index_(start_line),
        start_offset_(start_offset) {}

  Status Open() { return reader_.Open(start_offset_); }

  Result<InputBatch> Next() override {
    InputBatch batch;
    std::string& text = batch.text;
    int lines = 0;
    bool waiting = false;
    while (lines < context_.batch_size && text.size() < kMaxBatchBytes) {
      std::string_view line;
      auto read = reader_.Next(&line);
      if (!read.ok()) return read.status();
      if (*read == LineReader::Read::kWaiting) {
        waiting = true;
        break;
      }
      if (*read == LineReader::Read::kEnd) break;
      if (line_index_++ != share_.next()) continue;
      share_.Advance(1);
      text.append(line);
      text.push_back('\n');
      ++lines;
    }
    // Nothing came for a while (a FIFO): back to the task loop, which moves time on.
    if (lines == 0 && !waiting) return InputBatch::End();
    return batch;
  }

  std::string Position() const override {
    nlohmann::json position = share_.ToJson();
    position["scan"] = {line_index_, reader_.offset()};
    return position.dump();
  }

 private:
  static constexpr size_t kMaxBatchBytes = 1 << 20;

  LineReader reader_;
  SourceContext context_;
  IndexShare share_;
  int64_t line_index_ = 0;  // of the next line the reader returns
  int64_t start_offset_ = 0;
};

// The restore positions as JSON; a user error naming the operator when one is not JSON.
Result<std::vector<nlohmann::json>> ParsePositions(const SourceContext& context) {
  std::vector<nlohmann::json> positions;
  for (size_t i = 0; i < context.restore_positions.size(); ++i) {
    auto position = nlohmann::json::parse(context.restore_positions[i], nullptr, false);
    if (position.is_discarded() || !position.is_object()) {
      return Status::User(context.operator_label + ": cannot restore the source's position: " +
                          "position " + std::to_string(i) + " of the checkpoint is not a JSON " +
                          "object: '" + context.restore_positions[i].substr(0, 80) + "'");
    }
    positions.push_back(std::move(position));
  }
  return positions;
}

// The subtask's share of the indexes: fresh, or going on from the checkpoint's positions.
Result<IndexShare> MakeShare(const SourceContext& context,
                             const std::vector<nlohmann::json>& positions) {
  if (context.restore_positions.empty()) return IndexShare(context.subtask, context.parallelism);
  return IndexShare::Restore(context.subtask, context.parallelism, positions,
                             context.operator_label);
}

// Where a restored file source can start reading: the furthest (line, byte offset) an old
// subtask had read to that is not past `next`, the first line the new subtask emits.
std::pair<int64_t, int64_t> ScanStart(const std::vector<nlohmann::json>& positions, int64_t next) {
  std::pair<int64_t, int64_t> start{0, 0};
  for (const nlohmann::json& position : positions) {
    auto scan = position.find("scan");
    if (scan == position.end() || !scan->is_array() || scan->size() != 2 ||
        !(*scan)[0].is_number_integer() || !(*scan)[1].is_number_integer()) {
      continue;
    }
    const int64_t line = (*scan)[0].get<int64_t>();
    const int64_t offset = (*scan)[1].get<int64_t>();
    if (line <= next && line > start.first && offset >= 0) start = {line, offset};
  }
  return start;
}

// How a file source reads: its path inside the worker's allowed roots, its line limit (the
// config's maxLineBytes, at most the worker's), its cancel signal.
Result<LineReader::Options> FileReaderOptions(const nlohmann::json& config,
                                              const SourceContext& context) {
  LineReader::Options options;
  options.label = context.operator_label;
  options.cancel = context.cancel;
  options.max_line_bytes = context.max_line_bytes;
  if (config.contains("maxLineBytes") && config["maxLineBytes"].is_number_integer() &&
      config["maxLineBytes"].get<int64_t>() > 0) {
    options.max_line_bytes =
        std::min<uint64_t>(config["maxLineBytes"].get<int64_t>(), context.max_line_bytes);
  }
  auto path = ResolveInputPath(context.file_reach, config["path"].get<std::string>(),
                               context.operator_label);
  if (!path.ok()) return path.status();
  options.path = std::move(path).value();
  return options;
}

}  // namespace

namespace {

// source.file: its path inside the worker's reach, its batch size at most the worker's, and
// where a restored one goes on reading.
Result<std::unique_ptr<SourceDriver>> MakeFileSource(const std::string& config_json,
                                                     const SourceContext& context) {
  nlohmann::json config = ParseConfig(config_json);
  if (!config.contains("path") || !config["path"].is_string()) {
    return Status::User(context.operator_label + ": config needs a string 'path'");
  }
  SourceContext file_context = context;
  if (config.contains("batchSize") && config["batchSize"].is_number_integer() &&
      config["batchSize"].get<int64_t>() > 0) {
    file_context.batch_size = static_cast<int32_t>(
        std::min<int64_t>(config["batchSize"].get<int64_t>(), context.batch_size));
  }
  auto positions = ParsePositions(context);
  if (!positions.ok()) return positions.status();
  auto share = MakeShare(context, *positions);
  if (!share.ok()) return share.status();
  const auto [line, offset] = ScanStart(*positions, share->next());
  auto reader = FileReaderOptions(config, context);
  if (!reader.ok()) return reader.status();
  auto source = std::make_unique<FileSource>(std::move(reader).value(), file_context,
                                             std::move(share).value(), line, offset);
  SLUICE_RETURN_IF_ERROR(source->Open());
  return std::unique_ptr<SourceDriver>(std::move(source));
}

std::string FileTextFormat(const std::string& config_json) {
  nlohmann::json config = ParseConfig(config_json);
  return config.contains("format") && config["format"] == "json" ? "json" : "lines";
}

// source.generator and source.nexmark: their bound is the config's `count_field`.
Result<std::unique_ptr<SourceDriver>> MakeGeneratedSource(const char* count_field,
                                                          const std::string& config_json,
                                                          const SourceContext& context) {
  nlohmann::json config = ParseConfig(config_json);
  std::optional<int64_t> total;
  if (config.contains(count_field) && config[count_field].is_number()) {
    total = config[count_field].get<int64_t>();
  }
  double rate =
      config.contains("rate") && config["rate"].is_number() ? config["rate"].get<double>() : 0.0;
  auto positions = ParsePositions(context);
  if (!positions.ok()) return positions.status();
  auto share = MakeShare(context, *positions);
  if (!share.ok()) return share.status();
  return std::unique_ptr<SourceDriver>(
      new GeneratedSource(total, rate, context, std::move(share).value()));
}

}  // namespace

// The built-in sources, each with its factory, its text format and what the coordinator checks
// in its config.
Status RegisterBuiltinSources(IoKinds& kinds) {
  auto count = [](std::string name) {
    return ConfigField{std::move(name), ConfigFieldType::kNonNegativeInteger, false, {}};
  };
  auto rate = [](std::string name) {
    return ConfigField{std::move(name), ConfigFieldType::kPositiveNumber, false, {}};
  };
  const auto lines = [](const std::string&) { return std::string("lines"); };
  SourceKind file;
  file.make = MakeFileSource;
  file.text_format = FileTextFormat;
  file.checks = {{{"path", ConfigFieldType::kAbsolutePath, true, {}},
                  {"format", ConfigFieldType::kEnum, false, {"lines", "json"}},
                  count("batchSize"),
                  count("maxLineBytes")},
                 {}};
  SourceKind generator;
  generator.make = [](const std::string& config, const SourceContext& context) {
    return MakeGeneratedSource("count", config, context);
  };
  generator.text_format = lines;
  generator.checks = {{count("count"), rate("rate")}, {{"fn", false}}};
  SourceKind nexmark;
  nexmark.make = [](const std::string& config, const SourceContext& context) {
    return MakeGeneratedSource("events", config, context);
  };
  nexmark.text_format = lines;
  nexmark.checks = {{count("events"), rate("rate"), count("baseTime"), rate("eventsPerSecond")},
                    {}};
  SLUICE_RETURN_IF_ERROR(kinds.AddSource("source.file", std::move(file)));
  SLUICE_RETURN_IF_ERROR(kinds.AddSource("source.generator", std::move(generator)));
  return kinds.AddSource("source.nexmark", std::move(nexmark));
}

Result<std::unique_ptr<SourceDriver>> MakeSourceDriver(const std::string& kind,
                                                       const std::string& config_json,
                                                       const SourceContext& context) {
  const SourceKind* source = WorkerIoKinds().source(kind);
  if (source == nullptr) {
    return Status::User(context.operator_label + ": unknown source kind '" + kind + "'");
  }
  return source->make(config_json, context);
}

std::string SourceTextFormat(const std::string& kind, const std::string& config_json) {
  const SourceKind* source = WorkerIoKinds().source(kind);
  return source == nullptr ? "lines" : source->text_format(config_json);
}

}  // namespace sluice::runtime
