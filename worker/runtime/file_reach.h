#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::runtime {

// The folders below which a worker's tasks may read and write files (source.file, sink.file):
// the worker's --allow-path options (for `sluice run`, its working directory by default). A
// path is checked after `..` and symbolic links are resolved, so neither leads outside.
// Immutable once made; shared read-only by every task of the worker (the worker owns it).
class FileReach {
 public:
  // Every root is resolved now (it must exist and be a folder). No roots: no file is allowed.
  static Result<FileReach> Make(const std::vector<std::string>& roots);
  const std::vector<std::string>& roots() const { return roots_; }
  // Whether the resolved absolute `path` is a root or below one.
  bool Allows(const std::string& resolved) const;
  // "/data, /srv/in" or "none", for messages.
  std::string Describe() const;

 private:
  std::vector<std::string> roots_;
};

// The file a source reads, resolved, or a user error naming the operator (`label`) when it is
// outside `reach` or cannot be resolved. A null `reach` allows every path (unit tests; a
// worker always passes its own).
Result<std::string> ResolveInputPath(const FileReach* reach, const std::string& path,
                                     const std::string& label);
// The file a sink writes, resolved (its folder must exist; the file need not), or a user error
// as above.
Result<std::string> ResolveOutputPath(const FileReach* reach, const std::string& path,
                                      const std::string& label);

}  // namespace sluice::runtime
