#include "coordinator/operator_checks.h"

#include <cmath>

#include <nlohmann/json.hpp>

namespace sluice::coordinator {
namespace {

using nlohmann::json;

bool PositiveInteger(const json& value) {
  return value.is_number() && value.get<double>() > 0 &&
         value.get<double>() == static_cast<double>(static_cast<int64_t>(value.get<double>()));
}

// The assigner's problems; session windows only where `session_ok`.
void CheckAssigner(const json& assigner, std::vector<std::string>* problems) {
  const std::string what = ": config field \"assigner\"";
  if (!assigner.contains("type") || !assigner["type"].is_string()) {
    problems->push_back(what + " needs a \"type\": \"tumbling\", \"sliding\" or \"session\"");
    return;
  }
  const std::string type = assigner["type"].get<std::string>();
  auto need = [&](const char* field) {
    if (!assigner.contains(field) || !PositiveInteger(assigner[field])) {
      problems->push_back(what + " of type \"" + type + "\" needs \"" + field +
                          "\", a positive integer of milliseconds" +
                          (assigner.contains(field) ? ", got " + assigner[field].dump() : ""));
      return false;
    }
    return true;
  };
  if (type == "tumbling") {
    need("size");
  } else if (type == "sliding") {
    if (need("size") && need("slide") &&
        assigner["slide"].get<double>() > assigner["size"].get<double>()) {
      problems->push_back(what + ": a sliding window's slide (" + assigner["slide"].dump() +
                          ") must not exceed its size (" + assigner["size"].dump() + ")");
    }
  } else if (type == "session") {
    need("gap");
  } else {
    problems->push_back(what + " has type \"" + type +
                        "\"; expected \"tumbling\", \"sliding\" or \"session\"");
  }
  // The worker's rule (worker/js/runtime/windows.js parseOffset, joins.js offsetOf): a whole
  // number of ms smaller in magnitude than the step, which is the size or the slide.
  if (assigner.contains("offset") && (type == "tumbling" || type == "sliding")) {
    const char* step_name = type == "tumbling" ? "size" : "slide";
    const json& offset = assigner["offset"];
    const bool whole = offset.is_number_integer() ||
                       (offset.is_number_float() && std::trunc(offset.get<double>()) ==
                                                        offset.get<double>());
    if (!whole) {
      problems->push_back(what + ": \"offset\" must be a whole number of milliseconds, got " +
                          offset.dump());
    } else if (assigner.contains(step_name) && PositiveInteger(assigner[step_name]) &&
               std::fabs(offset.get<double>()) >= assigner[step_name].get<double>()) {
      problems->push_back(what + ": \"offset\" (" + offset.dump() +
                          ") must be smaller in magnitude than the " + step_name + " (" +
                          assigner[step_name].dump() + ")");
    }
  } else if (assigner.contains("offset")) {
    problems->push_back(what + ": a \"" + type + "\" window has no \"offset\"");
  }
}

}  // namespace

std::vector<std::string> CheckWindow(const json& config,
                                     const std::map<std::string, std::string>& functions) {
  std::vector<std::string> problems;
  CheckAssigner(config["assigner"], &problems);
  if (config.contains("trigger")) {
    const json& trigger = config["trigger"];
    const std::string type =
        trigger.contains("type") && trigger["type"].is_string() ? trigger["type"].get<std::string>()
                                                                : "";
    if (type == "count") {
      if (!trigger.contains("count") || !PositiveInteger(trigger["count"])) {
        problems.push_back(": a count trigger needs \"count\", a positive integer");
      }
    } else if (type != "event_time" && type != "processing_time") {
      problems.push_back(": config field \"trigger\" needs a \"type\": \"event_time\", "
                         "\"processing_time\" or \"count\"");
    }
  }
  const std::string function = config["function"].get<std::string>();
  auto needs = [&](const char* role) {
    if (functions.count(role) == 0) {
      problems.push_back(": a window with function \"" + function + "\" needs a function \"" +
                         role + "\"");
    }
  };
  if (function == "reduce") {
    needs("reduce");
  } else if (function == "aggregate") {
    needs("create");
    needs("add");
    const json& assigner = config["assigner"];
    if (assigner.value("type", "") == "session") needs("merge");
  }
  for (const auto& [role, text] : functions) {
    const bool used = (function == "reduce" && role == "reduce") ||
                      (function == "aggregate" &&
                       (role == "create" || role == "add" || role == "merge" || role == "result"));
    if (!used) {
      problems.push_back(": function \"" + role + "\" is not used by a window with function \"" +
                         function + "\"");
    }
  }
  return problems;
}

std::vector<std::string> CheckWindowJoin(const json& config,
                                         const std::map<std::string, std::string>& functions) {
  std::vector<std::string> problems;
  CheckAssigner(config["assigner"], &problems);
  return problems;
}

std::vector<std::string> CheckIntervalJoin(const json& config,
                                           const std::map<std::string, std::string>& functions) {
  std::vector<std::string> problems;
  if (config["lower"].get<double>() > config["upper"].get<double>()) {
    problems.push_back(": the interval join's lower bound (" + config["lower"].dump() +
                       ") is above its upper bound (" + config["upper"].dump() + ")");
  }
  return problems;
}

}  // namespace sluice::coordinator
