#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace sluice::coordinator {

// Config checks of the time-based operator kinds that look at more than one field (see
// OperatorKind::check). Each problem starts with ": " and names the field.

// window: assigner, time, trigger, function and the functions that function needs.
std::vector<std::string> CheckWindow(const nlohmann::json& config,
                                     const std::map<std::string, std::string>& functions);
// window_join: its assigner.
std::vector<std::string> CheckWindowJoin(const nlohmann::json& config,
                                         const std::map<std::string, std::string>& functions);
// interval_join: lower <= upper.
std::vector<std::string> CheckIntervalJoin(const nlohmann::json& config,
                                           const std::map<std::string, std::string>& functions);

}  // namespace sluice::coordinator
