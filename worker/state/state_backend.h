#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::state {

// The durable store behind a chain's keyed state (worker/state implements it with RocksDB, one
// instance per task). The chain keeps hot state in a cache in the isolate (runtime/state.js) and
// comes here on a miss, when it evicts dirty entries and when it is flushed. A table is one
// stateful operator (a column family); its keys are (key group, key string) so that the state
// of a key-group range can be found again when a job is rescaled. A task's backend has two
// tables: 0 = its keyed operator's state ("<op id>"), 1 = that operator's timers ("<op
// id>#timers", one entry per timer; older checkpoints: one per key group, key ""). Used only on
// the task thread.
class StateBackend {
 public:
  struct Mutation {
    uint32_t table = 0;  // index into the tables the backend was opened with
    uint32_t key_group = 0;
    std::string key;
    std::optional<std::string> value;  // nullopt deletes the entry
  };

  virtual ~StateBackend() = default;
  // The value stored for (table, key group, key), or nullopt.
  virtual Result<std::optional<std::string>> Get(uint32_t table, uint32_t key_group,
                                                 std::string_view key) = 0;
  // Applies the mutations atomically, in order.
  virtual Status Write(const std::vector<Mutation>& mutations) = 0;
  // The same, for mutations the caller no longer needs: a backend may keep their strings.
  virtual Status Write(std::vector<Mutation>&& mutations) {
    return Write(static_cast<const std::vector<Mutation>&>(mutations));
  }
  // A checkpoint in progress (the backend frozen at its barrier): the mutations belong to the
  // checkpoint's state, below every Write() since the barrier. Without checkpoints, a Write().
  virtual Status WriteSnapshot(std::vector<Mutation>&& mutations) { return Write(std::move(mutations)); }
  // Visits every entry of `table` (key group, key, value), in key order.
  using Visitor =
      std::function<Status(uint32_t key_group, std::string_view key, std::string_view value)>;
  virtual Status Scan(uint32_t table, const Visitor& visit) {
    (void)table;
    (void)visit;
    return Status::FailedPrecondition("this state backend cannot list a table");
  }
};

}  // namespace sluice::state
