#include "worker/js/state_probe.h"

#include <string_view>

namespace sluice::js {

bool HoldsNothing(StateBackend &backend, uint32_t table) {
  bool found = false;
  const Status scanned =
      backend.Scan(table, [&found](uint32_t, std::string_view, std::string_view) {
        found = true;
        return Status::Cancelled("the table holds an entry");  // ends the scan
      });
  return scanned.ok() && !found;
}

}  // namespace sluice::js
