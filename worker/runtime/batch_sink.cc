#include "worker/runtime/batch_sink.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>

#include "worker/runtime/worker_io_kinds.h"

namespace sluice::runtime {
namespace {

// Writes whole batches to standard output; one lock per process so the lines of concurrent
// tasks never interleave mid-line.
class StdoutSink : public BatchSink {
 public:
  explicit StdoutSink(std::FILE* out) : out_(out) {}
  Status Write(const js::BatchResult& batch) override {
    if (batch.json_lines.empty()) return Status::Ok();
    std::lock_guard<std::mutex> lock(Mutex());
    std::fwrite(batch.json_lines.data(), 1, batch.json_lines.size(), out_);
    std::fflush(out_);
    return Status::Ok();
  }
  Status Finish() override { return Status::Ok(); }

 private:
  static std::mutex& Mutex() {
    static std::mutex mutex;
    return mutex;
  }
  std::FILE* out_;
};

class FileSink : public BatchSink {
 public:
  // A restored task appends to what its previous attempts wrote (at-least-once: what came
  // after the checkpoint it restores from is written again).
  FileSink(std::string path, std::string label, bool append)
      : path_(std::move(path)), label_(std::move(label)), append_(append) {}
  ~FileSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }
  // Everything written before checkpoint n's barrier is on disk when the checkpoint is taken.
  Result<std::string> PrepareCommit(uint64_t, const std::string&) override {
    if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
      return Status::External(label_ + ": cannot flush '" + path_ + "': " + std::strerror(errno));
    }
    return std::string();
  }
  Status Open() {
    file_ = std::fopen(path_.c_str(), append_ ? "a" : "w");
    if (file_ == nullptr) {
      return Status::External(label_ + ": cannot open output file '" + path_ +
                              "': " + std::strerror(errno));
    }
    return Status::Ok();
  }
  Status Write(const js::BatchResult& batch) override {
    if (batch.json_lines.empty()) return Status::Ok();
    if (std::fwrite(batch.json_lines.data(), 1, batch.json_lines.size(), file_) !=
        batch.json_lines.size()) {
      return Status::External(label_ + ": cannot write to '" + path_ +
                              "': " + std::strerror(errno));
    }
    return Status::Ok();
  }
  Status Finish() override {
    if (file_ == nullptr) return Status::Ok();
    int rc = std::fclose(file_);
    file_ = nullptr;
    if (rc != 0) {
      return Status::External(label_ + ": cannot close '" + path_ + "': " + std::strerror(errno));
    }
    return Status::Ok();
  }

 private:
  std::string path_;
  std::string label_;
  bool append_ = false;
  std::FILE* file_ = nullptr;
};

class CollectSink : public BatchSink {
 public:
  explicit CollectSink(const SinkContext& context) : context_(context) {}
  Status Write(const js::BatchResult& batch) override {
    std::vector<std::string> records;
    records.reserve(batch.records_out);
    std::string_view rest = batch.json_lines;
    while (!rest.empty()) {
      size_t end = rest.find('\n');
      if (end == std::string_view::npos) end = rest.size();
      records.emplace_back(rest.substr(0, end));
      rest.remove_prefix(std::min(end + 1, rest.size()));
    }
    if (records.empty()) return Status::Ok();
    return context_.pusher->Push(context_.job, context_.task, std::move(records));
  }
  Status Finish() override { return Status::Ok(); }

 private:
  SinkContext context_;
};

class DiscardSink : public BatchSink {
 public:
  js::OutputMode output_mode() const override { return js::OutputMode::kCount; }
  Status Write(const js::BatchResult&) override { return Status::Ok(); }
  Status Finish() override { return Status::Ok(); }
};

}  // namespace

// The built-in sinks: stdout, discard, collect, file.
static Result<std::unique_ptr<BatchSink>> MakeBuiltinSink(const std::string& kind,
                                                   const std::string& config_json,
                                                   const SinkContext& context) {
  if (kind == "sink.stdout") return std::unique_ptr<BatchSink>(new StdoutSink(context.stdout_file));
  if (kind == "sink.discard") return std::unique_ptr<BatchSink>(new DiscardSink());
  if (kind == "sink.collect") {
    if (context.pusher == nullptr) {
      return Status::Internal(context.operator_label + ": no result channel for sink.collect");
    }
    return std::unique_ptr<BatchSink>(new CollectSink(context));
  }
  if (kind == "sink.file") {
    auto config = nlohmann::json::parse(config_json.empty() ? "{}" : config_json, nullptr, false);
    if (!config.is_object() || !config.contains("path") || !config["path"].is_string()) {
      return Status::User(context.operator_label + ": config needs a string 'path'");
    }
    std::string path = config["path"].get<std::string>();
    if (context.parallelism > 1) path += "." + std::to_string(context.subtask);
    auto sink = std::make_unique<FileSink>(path, context.operator_label, context.restored);
    SLUICE_RETURN_IF_ERROR(sink->Open());
    return std::unique_ptr<BatchSink>(std::move(sink));
  }
  return Status::User(context.operator_label + ": unknown sink kind '" + kind + "'");
}

Status RegisterBuiltinSinks(IoKinds& kinds) {
  for (const char* kind : {"sink.stdout", "sink.discard", "sink.collect", "sink.file"}) {
    const std::string name = kind;
    SLUICE_RETURN_IF_ERROR(kinds.AddSink(
        name, SinkKind{[name](const std::string& config, const SinkContext& context) {
                         return MakeBuiltinSink(name, config, context);
                       },
                       nullptr}));
  }
  return Status::Ok();
}

Result<std::unique_ptr<BatchSink>> MakeSink(const std::string& kind, const std::string& config_json,
                                            const SinkContext& context) {
  const SinkKind* sink = WorkerIoKinds().sink(kind);
  if (sink == nullptr) {
    return Status::User(context.operator_label + ": unknown sink kind '" + kind + "'");
  }
  return sink->make(config_json, context);
}

std::vector<js::StageSpec> SinkFunctionStages(const std::string& kind,
                                              const std::string& operator_id,
                                              const std::string& operator_name,
                                              const std::map<std::string, std::string>& functions) {
  const SinkKind* sink = WorkerIoKinds().sink(kind);
  if (sink == nullptr || !sink->function_stages) return {};
  return sink->function_stages(operator_id, operator_name, functions);
}

}  // namespace sluice::runtime
