#include "coordinator/job_store.h"

#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "coordinator/durable_file.h"

namespace sluice::coordinator {
namespace {

namespace fs = std::filesystem;

constexpr char kSuffix[] = ".json";

// Job ids become file names: refuse anything that could escape the folder or hide as a temp.
bool IsSafeName(const std::string& id) {
  if (id.empty() || id.size() > 200 || id[0] == '.') return false;
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<FileJobStore>> FileJobStore::Open(const std::string& dir) {
  if (dir.empty()) return Status::InvalidArgument("the data directory must not be empty");
  std::string jobs_dir = (fs::path(dir) / "jobs").string();
  std::error_code error;
  const bool created = !fs::exists(dir, error);
  fs::create_directories(jobs_dir, error);
  if (error) {
    return Status::External("cannot create the data directory " + jobs_dir + ": " +
                            error.message());
  }
  // Job records are for this coordinator's user alone. A data directory someone else made
  // keeps its mode; the jobs folder inside is always closed.
  if (created && ::chmod(dir.c_str(), 0700) != 0) return FileError("cannot chmod", dir);
  if (::chmod(jobs_dir.c_str(), 0700) != 0) return FileError("cannot chmod", jobs_dir);
  if (::access(jobs_dir.c_str(), W_OK | X_OK) != 0) return FileError("cannot write to", jobs_dir);
  return std::unique_ptr<FileJobStore>(new FileJobStore(dir, std::move(jobs_dir)));
}

std::string FileJobStore::PathOf(const std::string& job_id) const {
  return (fs::path(jobs_dir_) / (job_id + kSuffix)).string();
}

Status FileJobStore::Save(const proto::StoredJob& job) {
  const std::string& id = job.info().job_id();
  if (!IsSafeName(id)) return Status::InvalidArgument("cannot store a job with id '" + id + "'");
  auto json = EncodeStoredJob(job);
  if (!json.ok()) return json.status();
  std::lock_guard<std::mutex> lock(mutex_);
  const std::string path = PathOf(id);
  return WriteFileDurably(path, *json);
}

Result<uint64_t> FileJobStore::ReadEpochLocked() const {
  const std::string path = (fs::path(dir_) / "epoch").string();
  uint64_t epoch = 0;
  std::ifstream in(path);
  if (in.is_open() && !(in >> epoch)) {
    return Status::External("the coordinator epoch file " + path + " is not a number");
  }
  return epoch;
}

Result<uint64_t> FileJobStore::AcquireEpoch(const std::string&) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto epoch = ReadEpochLocked();
  if (!epoch.ok()) return epoch.status();
  const uint64_t next = *epoch + 1;
  const std::string path = (fs::path(dir_) / "epoch").string();
  Status written = WriteFileDurably(path, std::to_string(next) + "\n");
  if (!written.ok()) return written;
  epoch_ = next;
  return next;
}

Status FileJobStore::ConfirmLeader() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto newest = ReadEpochLocked();
  if (!newest.ok()) return newest.status();
  if (*newest == epoch_) return Status::Ok();
  deposed_ = true;
  return Status::FailedPrecondition("coordinator epoch " + std::to_string(epoch_) +
                                    " was superseded by epoch " + std::to_string(*newest) +
                                    " (a coordinator started later on " + dir_ + ")");
}

Result<LoadedJobs> FileJobStore::LoadAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  LoadedJobs loaded;
  std::error_code error;
  fs::directory_iterator it(jobs_dir_, error);
  if (error) return Status::External("cannot read " + jobs_dir_ + ": " + error.message());
  for (const auto& entry : it) {
    const std::string name = entry.path().filename().string();
    // Temp files are saves a crash interrupted; the record they were replacing still stands.
    if (name.empty() || name[0] == '.' || entry.path().extension() != kSuffix) continue;
    const std::string path = entry.path().string();
    ::chmod(path.c_str(), 0600);  // records an older coordinator wrote readable to all
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    proto::StoredJob job;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;  // a newer coordinator may have written more
    auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &job, options);
    std::string problem;
    if (!in.good() && !in.eof()) {
      problem = "cannot be read";
    } else if (!parsed.ok()) {
      problem = "is not a valid job record (" + parsed.ToString() + ")";
    } else if (job.info().job_id() + kSuffix != name) {
      problem = "does not hold the job its name says (job id '" + job.info().job_id() + "')";
    }
    if (!problem.empty()) {
      spdlog::warn("skipping job file {}: it {}", path, problem);
      loaded.skipped.push_back(path);
      continue;
    }
    loaded.jobs.push_back(std::move(job));
  }
  return loaded;
}

Status MemoryJobStore::Save(const proto::StoredJob& job) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (fail_saves_) return Status::External("injected: the job store cannot be written");
  jobs_[job.info().job_id()] = job;
  ++saves_;
  return Status::Ok();
}

Result<LoadedJobs> MemoryJobStore::LoadAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  LoadedJobs loaded;
  for (const auto& [id, job] : jobs_) loaded.jobs.push_back(job);
  return loaded;
}

Result<std::string> EncodeStoredJob(const proto::StoredJob& job) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  auto printed = google::protobuf::util::MessageToJsonString(job, &json, options);
  if (!printed.ok()) {
    return Status::Internal("cannot encode job " + job.info().job_id() + ": " +
                            printed.ToString());
  }
  return json;
}

Result<proto::StoredJob> ReadStoredJob(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return FileError("cannot open", path);
  std::stringstream text;
  text << in.rdbuf();
  proto::StoredJob job;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // a newer coordinator may have written more
  auto parsed = google::protobuf::util::JsonStringToMessage(text.str(), &job, options);
  if (!parsed.ok()) {
    return Status::External(path + " is not a valid job record (" + parsed.ToString() + ")");
  }
  return job;
}

}  // namespace sluice::coordinator
