#include "worker/runtime/file_reach.h"

#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

namespace sluice::runtime {
namespace {

// realpath(3): every `..` and symbolic link resolved; the file must exist.
Result<std::string> RealPath(const std::string& path) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return Status::User(std::strerror(errno));
  std::string out(resolved);
  std::free(resolved);
  return out;
}

Status Outside(const FileReach& reach, const std::string& path, const std::string& resolved,
               const std::string& label, const char* what) {
  std::string shown = "'" + path + "'";
  if (resolved != path) shown += " (resolved: '" + resolved + "')";
  return Status::User(label + ": " + what + " " + shown +
                      " is outside the folders this worker allows (" + reach.Describe() +
                      "); allow one with the worker's --allow-path");
}

// The absolute, lexically normal form of `path` (no `.` or `..`), without touching the disk.
std::string Lexical(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::current_path() / p;
  std::string normal = p.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

}  // namespace

Result<FileReach> FileReach::Make(const std::vector<std::string>& roots) {
  FileReach reach;
  for (const std::string& root : roots) {
    auto resolved = RealPath(root);
    struct stat info {};
    if (!resolved.ok() || ::stat(resolved->c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
      return Status::User("--allow-path '" + root + "' is not a folder" +
                          (resolved.ok() ? "" : ": " + resolved.status().message()));
    }
    reach.roots_.push_back(*resolved);
  }
  return reach;
}

bool FileReach::Allows(const std::string& resolved) const {
  for (const std::string& root : roots_) {
    if (root == "/") return true;
    if (resolved == root) return true;
    if (resolved.size() > root.size() && resolved.compare(0, root.size(), root) == 0 &&
        resolved[root.size()] == '/') {
      return true;
    }
  }
  return false;
}

std::string FileReach::Describe() const {
  if (roots_.empty()) return "none";
  std::string out;
  for (const std::string& root : roots_) out += (out.empty() ? "" : ", ") + root;
  return out;
}

Result<std::string> ResolveInputPath(const FileReach* reach, const std::string& path,
                                     const std::string& label) {
  if (reach == nullptr) return path;
  // Refused before the disk is asked, so a job learns nothing of files it may not read.
  const std::string lexical = Lexical(path);
  if (!reach->Allows(lexical)) return Outside(*reach, path, lexical, label, "input file");
  auto resolved = RealPath(lexical);
  if (!resolved.ok()) {
    return Status::User(label + ": cannot open input file '" + path +
                        "': " + resolved.status().message());
  }
  if (!reach->Allows(*resolved)) return Outside(*reach, path, *resolved, label, "input file");
  return resolved;
}

Result<std::string> ResolveOutputPath(const FileReach* reach, const std::string& path,
                                      const std::string& label) {
  if (reach == nullptr) return path;
  const std::string lexical = Lexical(path);
  if (!reach->Allows(lexical)) return Outside(*reach, path, lexical, label, "output file");
  std::string resolved;
  struct stat info {};
  if (::lstat(lexical.c_str(), &info) == 0) {
    // An existing file, or a link to one; a dangling link (or a loop) is refused here.
    auto real = RealPath(lexical);
    if (!real.ok()) {
      return Status::User(label + ": cannot resolve output file '" + path +
                          "': " + real.status().message());
    }
    resolved = *real;
  } else {
    const std::filesystem::path p(lexical);
    auto folder = RealPath(p.parent_path().string());
    if (!folder.ok()) {
      return Status::User(label + ": cannot write output file '" + path + "': its folder '" +
                          p.parent_path().string() + "': " + folder.status().message());
    }
    resolved = (std::filesystem::path(*folder) / p.filename()).string();
  }
  if (!reach->Allows(resolved)) return Outside(*reach, path, resolved, label, "output file");
  return resolved;
}

}  // namespace sluice::runtime
