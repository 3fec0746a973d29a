#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::connectors {

// A sink's delivery guarantee, its config field "guarantee".
//   at-least-once: writes as records come; a retried write or a restore may repeat some.
//   exactly-once: holds each epoch back until its checkpoint completed, then commits it with a
//   marker (see pending_epochs.h), so that nothing is written twice or lost across restores.
enum class Guarantee { kAtLeastOnce, kExactlyOnce };

inline constexpr char kGuaranteeValues[] = "\"at-least-once\" or \"exactly-once\"";

inline std::optional<Guarantee> ParseGuarantee(std::string_view text) {
  if (text == "at-least-once") return Guarantee::kAtLeastOnce;
  if (text == "exactly-once") return Guarantee::kExactlyOnce;
  return std::nullopt;
}

// A sink subtask's identity in commit markers: "<job id>/<operator id>/<subtask>". Stable across
// restarts of the job (new task ids, same job), so a restored task finds its markers.
inline std::string SinkId(const std::string& job_id, const std::string& operator_id,
                          uint32_t subtask) {
  return job_id + "/" + operator_id + "/" + std::to_string(subtask);
}

}  // namespace sluice::connectors
