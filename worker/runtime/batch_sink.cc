#include "worker/runtime/batch_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string_view>
#include <tuple>

#include "worker/runtime/file_reach.h"
#include "worker/runtime/worker_io_kinds.h"

namespace sluice::runtime {
namespace {

// Writes whole batches to standard output; one lock per process so the lines of concurrent
// tasks never interleave mid-line.
class StdoutSink : public BatchSink {
 public:
  StdoutSink(std::FILE* out, const SinkContext& context) : out_(out), context_(context) {}
  Status Write(const js::BatchResult& batch) override {
    if (batch.json_lines.empty()) return Status::Ok();
    {
      std::lock_guard<std::mutex> lock(Mutex());
      std::fwrite(batch.json_lines.data(), 1, batch.json_lines.size(), out_);
      std::fflush(out_);
    }
    if (context_.pusher != nullptr) context_.pusher->Watch(context_.job, batch.json_lines);
    return Status::Ok();
  }
  Status Finish() override { return Status::Ok(); }

 private:
  static std::mutex& Mutex() {
    static std::mutex mutex;
    return mutex;
  }
  std::FILE* out_;
  SinkContext context_;
};

// How a file sink opens its file.
enum class OpenMode {
  kCreate,     // a new file; an existing one is refused (the sink did not say overwrite)
  kTruncate,   // overwrite: true, or a later attempt of the job that made the file
  kAppend,     // a task restored from a checkpoint goes on after what was written
};

class FileSink : public BatchSink {
 public:
  // A restored task appends to what its previous attempts wrote (at-least-once: what came
  // after the checkpoint it restores from is written again).
  FileSink(std::string path, std::string label, OpenMode mode)
      : path_(std::move(path)), label_(std::move(label)), mode_(mode) {}
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
    // O_EXCL makes "refuse an existing file" one step with creating it; O_NOFOLLOW keeps a
    // link planted after the path was checked (file_reach.h) from leading elsewhere.
    // O_NONBLOCK: opening a FIFO without a reader would block beyond the reach of a cancel
    // (regular files ignore it); anything but a regular file is refused.
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    flags |= mode_ == OpenMode::kCreate ? O_EXCL : mode_ == OpenMode::kAppend ? O_APPEND : O_TRUNC;
    const int fd = ::open(path_.c_str(), flags, 0644);
    if (fd < 0 && errno == EEXIST) {
      return Status::User(label_ + ": output file '" + path_ +
                          "' exists; the sink overwrites it only with overwrite: true");
    }
    struct stat info {};
    if (fd >= 0 && (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))) {
      ::close(fd);
      return Status::User(label_ + ": output file '" + path_ + "' is not a regular file");
    }
    if (fd < 0 && errno == ENXIO) {
      return Status::User(label_ + ": output file '" + path_ + "' is not a regular file");
    }
    if (fd >= 0) file_ = ::fdopen(fd, mode_ == OpenMode::kAppend ? "a" : "w");
    if (file_ == nullptr) {
      const int error = errno;
      if (fd >= 0) ::close(fd);
      return Status::External(label_ + ": cannot open output file '" + path_ +
                              "': " + std::strerror(error));
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
  OpenMode mode_;
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

namespace {

Result<std::unique_ptr<BatchSink>> MakeStdoutSink(const std::string&, const SinkContext& context) {
  return std::unique_ptr<BatchSink>(new StdoutSink(context.stdout_file, context));
}

Result<std::unique_ptr<BatchSink>> MakeDiscardSink(const std::string&, const SinkContext&) {
  return std::unique_ptr<BatchSink>(new DiscardSink());
}

Result<std::unique_ptr<BatchSink>> MakeCollectSink(const std::string&,
                                                   const SinkContext& context) {
  if (context.pusher == nullptr) {
    return Status::Internal(context.operator_label + ": no result channel for sink.collect");
  }
  return std::unique_ptr<BatchSink>(new CollectSink(context));
}

Result<std::unique_ptr<BatchSink>> MakeFileSink(const std::string& config_json,
                                                const SinkContext& context) {
  auto config = nlohmann::json::parse(config_json.empty() ? "{}" : config_json, nullptr, false);
  if (!config.is_object() || !config.contains("path") || !config["path"].is_string()) {
    return Status::User(context.operator_label + ": config needs a string 'path'");
  }
  std::string path = config["path"].get<std::string>();
  if (context.parallelism > 1) path += "." + std::to_string(context.subtask);
  auto resolved = ResolveOutputPath(context.file_reach, path, context.operator_label);
  if (!resolved.ok()) return resolved.status();
  const bool overwrite = config.contains("overwrite") && config["overwrite"] == true;
  // A later attempt of the job (task id "...#n") replaces what an earlier one wrote.
  const bool retry = context.task.str().find('#') != std::string::npos;
  const OpenMode mode = context.restored           ? OpenMode::kAppend
                        : overwrite || retry ? OpenMode::kTruncate
                                             : OpenMode::kCreate;
  auto sink = std::make_unique<FileSink>(*resolved, context.operator_label, mode);
  SLUICE_RETURN_IF_ERROR(sink->Open());
  return std::unique_ptr<BatchSink>(std::move(sink));
}

}  // namespace

// The built-in sinks, each with its factory and what the coordinator checks in its config.
Status RegisterBuiltinSinks(IoKinds& kinds) {
  using Make = Result<std::unique_ptr<BatchSink>> (*)(const std::string&, const SinkContext&);
  const std::tuple<std::string, Make, IoKindChecks> builtins[] = {
      {"sink.stdout", MakeStdoutSink, {}},
      {"sink.discard", MakeDiscardSink, {}},
      {"sink.collect", MakeCollectSink, {}},
      {"sink.file", MakeFileSink,
       {{{"path", ConfigFieldType::kAbsolutePath, true, {}},
         {"overwrite", ConfigFieldType::kBoolean, false, {}}},
        {}}},
  };
  for (const auto& [name, make, checks] : builtins) {
    SinkKind sink;
    sink.make = make;
    sink.checks = checks;
    SLUICE_RETURN_IF_ERROR(kinds.AddSink(name, std::move(sink)));
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
