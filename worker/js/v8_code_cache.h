#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice::js {

// V8's code cache for the scripts chains compile, shared by every isolate of the process: the
// runtime libraries (the same in every chain), a job's driver and functions (the same in every
// subtask of a chain). The first isolate to run a script stores the code V8 made for it
// (ScriptCompiler::CreateCodeCache, after the script ran, so it holds the functions the run
// compiled too); later isolates compile it from that code instead of parsing it again. V8
// checks that a cache fits the source and its flags and rejects one that does not; a rejected
// entry is replaced.
//
// Entries are keyed by script name and the whole source text (never by a hash of it: V8 itself
// checks only the source's length). At most `max_bytes` of sources and code are held; the
// oldest entries go first. Thread-safe.
class CodeCache {
 public:
  static constexpr size_t kDefaultMaxBytes = size_t{64} << 20;

  explicit CodeCache(size_t max_bytes = kDefaultMaxBytes) : max_bytes_(max_bytes) {}
  // The process's cache.
  static CodeCache &Process();

  // The code stored for `source` under `name`, or null. The bytes stay valid while the
  // returned pointer lives, whatever happens to the entry.
  std::shared_ptr<const std::string> Find(const std::string &name, const std::string &source);
  // Stores (or replaces) the code for `source` under `name`; too large an entry is not kept.
  void Store(const std::string &name, const std::string &source, std::string code);

  // V8 refused the code Find gave for a script (it is then compiled anew and stored again).
  void Rejected();

  size_t entries() const;
  size_t bytes() const;
  // How many Find calls found code, and how many of those V8 refused, since the start.
  size_t found() const;
  size_t rejected() const;

 private:
  struct Entry {
    std::shared_ptr<const std::string> code;
    size_t bytes = 0;  // key and code
  };
  void Evict();  // the oldest entries until within max_bytes_

  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;  // name '\0' source -> code
  std::deque<const std::string *> order_;           // the map's keys, oldest first
  size_t bytes_ = 0;
  size_t found_ = 0;
  size_t rejected_ = 0;
};

}  // namespace sluice::js
