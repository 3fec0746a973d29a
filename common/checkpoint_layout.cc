#include "common/checkpoint_layout.h"

namespace sluice {
namespace {

constexpr std::string_view kPrefix = "chk-";

}  // namespace

std::string CheckpointDirectoryName(uint64_t checkpoint) {
  return std::string(kPrefix) + std::to_string(checkpoint);
}

std::optional<uint64_t> ParseCheckpointDirectoryName(std::string_view name) {
  const size_t prefix = kPrefix.size();
  if (name.size() <= prefix || name.size() > prefix + 19 || name.substr(0, prefix) != kPrefix) {
    return std::nullopt;
  }
  uint64_t n = 0;
  for (size_t i = prefix; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  return n;
}

std::string CheckpointDirectory(const std::string& job_directory, uint64_t checkpoint) {
  return job_directory + "/" + CheckpointDirectoryName(checkpoint);
}

std::string TaskFileName(const TaskId& task) {
  std::string name = task.str();
  for (char& c : name) {
    if (c == '/' || c == '#') c = '_';
  }
  return name;
}

}  // namespace sluice
