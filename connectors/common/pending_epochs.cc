#include "connectors/common/pending_epochs.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <sstream>

namespace sluice::connectors {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The file: a header line, then per epoch "epoch <number> <bytes>\n" and that many bytes of
// JSON lines, then "end\n" (a file cut short lacks it).
constexpr char kHeader[] = "sluice-pending-epochs 1\n";
constexpr char kEnd[] = "end\n";
constexpr char kFileName[] = "pending-epochs";

Status Errno(const std::string& what, const std::string& path) {
  return Status::External(what + " '" + path + "': " + std::strerror(errno));
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot write pending epochs to", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Writes `content` to `path` and makes it and its directory entry durable.
Status WriteDurably(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", path);
  Status status = WriteAll(fd, content, path);
  if (status.ok() && ::fsync(fd) != 0) status = Errno("cannot fsync", path);
  if (::close(fd) != 0 && status.ok()) status = Errno("cannot close", path);
  if (!status.ok()) return status;
  const std::string directory = fs::path(path).parent_path().string();
  const int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("cannot open", directory);
  const int rc = ::fsync(dir_fd);
  ::close(dir_fd);
  if (rc != 0) return Errno("cannot fsync", directory);
  return Status::Ok();
}

Status BadFile(const std::string& path, const std::string& what) {
  return Status::External("pending epochs file '" + path + "': " + what);
}

// Reads the epochs of a file written by Prepare().
Result<std::vector<Epoch>> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("cannot open the pending epochs file", path);
  const std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Errno("cannot read the pending epochs file", path);
  std::string_view rest(content);
  if (!rest.starts_with(kHeader)) return BadFile(path, "not a pending epochs file");
  rest.remove_prefix(std::strlen(kHeader));
  std::vector<Epoch> epochs;
  while (rest != kEnd) {
    const size_t line_end = rest.find('\n');
    if (!rest.starts_with("epoch ") || line_end == std::string_view::npos) {
      return BadFile(path,
                     "cut short or damaged after " + std::to_string(epochs.size()) + " epochs");
    }
    std::istringstream header(std::string(rest.substr(6, line_end - 6)));
    Epoch epoch;
    size_t size = 0;
    if (!(header >> epoch.number >> size) || !header.eof()) {
      return BadFile(path, "bad epoch header \"" + std::string(rest.substr(0, line_end)) + "\"");
    }
    rest.remove_prefix(line_end + 1);
    if (rest.size() < size) {
      return BadFile(path, "epoch " + std::to_string(epoch.number) + " is cut short");
    }
    epoch.lines = std::string(rest.substr(0, size));
    rest.remove_prefix(size);
    epochs.push_back(std::move(epoch));
  }
  return epochs;
}

}  // namespace

void PendingEpochs::Append(std::string_view json_lines) {
  if (finished_ || json_lines.empty()) return;
  open_.append(json_lines);
  if (open_.back() != '\n') open_.push_back('\n');
}

Status PendingEpochs::Close(uint64_t number) {
  if (number <= last_) {
    return Status::Internal("sink " + sink_id_ + ": epoch " + std::to_string(number) +
                            " closed after epoch " + std::to_string(last_));
  }
  last_ = number;
  if (finished_) return Status::Ok();
  closed_.push_back(Epoch{number, std::move(open_)});
  open_.clear();
  return Status::Ok();
}

Result<std::string> PendingEpochs::Prepare(uint64_t checkpoint, const std::string& directory) {
  if (checkpoint <= last_) {
    return Status::Internal("sink " + sink_id_ + ": barrier " + std::to_string(checkpoint) +
                            " after epoch " + std::to_string(last_));
  }
  if (finished_) {
    last_ = checkpoint;
    return json{{"sink", sink_id_}, {"finished", true}}.dump();
  }
  if (open_.empty()) {
    last_ = checkpoint;
  } else {
    SLUICE_RETURN_IF_ERROR(Close(checkpoint));
  }
  if (closed_.empty()) return std::string();

  std::error_code error;
  fs::create_directories(directory, error);
  if (error) {
    return Status::External("cannot create the directory '" + directory + "': " + error.message());
  }
  const std::string path = (fs::path(directory) / kFileName).string();
  std::string content = kHeader;
  json numbers = json::array();
  for (const Epoch& epoch : closed_) {
    content +=
        "epoch " + std::to_string(epoch.number) + " " + std::to_string(epoch.lines.size()) + "\n";
    content += epoch.lines;
    numbers.push_back(epoch.number);
  }
  content += kEnd;
  SLUICE_RETURN_IF_ERROR(WriteDurably(path, content));
  return json{{"sink", sink_id_}, {"path", path}, {"epochs", numbers}}.dump();
}

Result<std::string> PendingEpochs::Prepare(uint64_t checkpoint, const std::string& directory,
                                           const std::string& label) {
  auto description = Prepare(checkpoint, directory);
  if (description.ok()) return description;
  return description.status().WithContext(label);
}

Status PendingEpochs::CommitThrough(
    uint64_t number, const std::function<Status(const std::string&, const Epoch&)>& commit) {
  for (const Epoch* epoch : ClosedThrough(number)) {
    SLUICE_RETURN_IF_ERROR(commit(sink_id_, *epoch));
  }
  DropThrough(number);
  return Status::Ok();
}

std::vector<const Epoch*> PendingEpochs::ClosedThrough(uint64_t number) const {
  std::vector<const Epoch*> epochs;
  for (const Epoch& epoch : closed_) {
    if (epoch.number <= number) epochs.push_back(&epoch);
  }
  return epochs;
}

void PendingEpochs::DropThrough(uint64_t number) {
  while (!closed_.empty() && closed_.front().number <= number) closed_.pop_front();
}

void PendingEpochs::StartAfter(uint64_t checkpoint) {
  last_ = checkpoint;
  open_.clear();
  closed_.clear();
}

void PendingEpochs::MarkFinished() {
  finished_ = true;
  open_.clear();
  closed_.clear();
}

Result<PreparedEpochs> PendingEpochs::Load(const std::string& description) {
  const json parsed = json::parse(description, nullptr, false);
  const auto bad = [&](const std::string& what) {
    return Status::Internal("sink state '" + description + "': " + what);
  };
  if (!parsed.is_object() || !parsed.contains("sink") || !parsed["sink"].is_string()) {
    return bad("not a description of pending epochs (a JSON object with \"sink\")");
  }
  PreparedEpochs prepared;
  prepared.sink_id = parsed["sink"].get<std::string>();
  if (parsed.value("finished", false)) {
    prepared.finished = true;
    return prepared;
  }
  if (!parsed.contains("path") || !parsed["path"].is_string() || !parsed.contains("epochs") ||
      !parsed["epochs"].is_array()) {
    return bad("needs \"path\" and \"epochs\"");
  }
  const std::string path = parsed["path"].get<std::string>();
  auto epochs = ReadFile(path);
  if (!epochs.ok()) return epochs.status();
  std::vector<uint64_t> expected;
  for (const json& number : parsed["epochs"]) {
    if (!number.is_number_unsigned()) return bad("epochs must be numbers");
    expected.push_back(number.get<uint64_t>());
  }
  std::vector<uint64_t> found;
  for (const Epoch& epoch : *epochs) found.push_back(epoch.number);
  if (found != expected) {
    return BadFile(path, "holds epochs " + json(found).dump() + ", the checkpoint says " +
                             json(expected).dump());
  }
  prepared.epochs = std::move(epochs).value();
  return prepared;
}

Result<TakenOver> LoadPrepared(const std::vector<std::string>& descriptions,
                               const std::string& own, const std::string& label) {
  TakenOver taken;
  taken.sink_ids.push_back(own);
  for (const std::string& description : descriptions) {
    if (description.empty()) continue;
    auto loaded = PendingEpochs::Load(description);
    if (!loaded.ok()) {
      return loaded.status().WithContext(label);
    }
    taken.finished = taken.finished || loaded->finished;
    taken.sink_ids.push_back(loaded->sink_id);
    taken.prepared.push_back(std::move(loaded).value());
  }
  return taken;
}

}  // namespace sluice::connectors
