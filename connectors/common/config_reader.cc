#include "connectors/common/config_reader.h"

#include <algorithm>
#include <cmath>

namespace sluice::connectors {
namespace {

std::string Quote(std::string_view text) { return "\"" + std::string(text) + "\""; }

}  // namespace

ConfigReader::ConfigReader(std::string_view config_json, std::string kind)
    : kind_(std::move(kind)) {
  if (config_json.empty()) {
    parsed_ = true;
    return;
  }
  nlohmann::json config = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded()) {
    Problem("config_json is not valid JSON");
  } else if (!config.is_object()) {
    Problem("config_json must be a JSON object");
  } else {
    config_ = std::move(config);
    parsed_ = true;
  }
}

ConfigReader::ConfigReader(const nlohmann::json& config, std::string kind)
    : kind_(std::move(kind)) {
  if (!config.is_object()) {
    Problem("config_json must be a JSON object");
    return;
  }
  config_ = config;
  parsed_ = true;
}

const nlohmann::json* ConfigReader::Find(const std::string& name, bool required) {
  known_.push_back(name);
  if (!parsed_) return nullptr;
  auto it = config_.find(name);
  if (it == config_.end() || it->is_null()) {
    if (required) Problem("config field " + Quote(name) + " is required for kind " + Quote(kind_));
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> ConfigReader::String(const std::string& name, bool required) {
  const nlohmann::json* value = Find(name, required);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string()) {
    FieldProblem(name, "must be a string, got " + value->dump());
    return std::nullopt;
  }
  if (required && value->get_ref<const std::string&>().empty()) {
    FieldProblem(name, "must not be empty");
    return std::nullopt;
  }
  return value->get<std::string>();
}

std::optional<int64_t> ConfigReader::Integer(const std::string& name, bool required, int64_t min,
                                             int64_t max) {
  const nlohmann::json* value = Find(name, required);
  if (value == nullptr) return std::nullopt;
  const double d = value->is_number() ? value->get<double>() : NAN;
  if (!std::isfinite(d) || std::floor(d) != d || d < static_cast<double>(min) ||
      d > static_cast<double>(max)) {
    FieldProblem(name, "must be an integer from " + std::to_string(min) + " to " +
                           std::to_string(max) + ", got " + value->dump());
    return std::nullopt;
  }
  return static_cast<int64_t>(d);
}

std::optional<bool> ConfigReader::Boolean(const std::string& name) {
  const nlohmann::json* value = Find(name, false);
  if (value == nullptr) return std::nullopt;
  if (!value->is_boolean()) {
    FieldProblem(name, "must be true or false, got " + value->dump());
    return std::nullopt;
  }
  return value->get<bool>();
}

void ConfigReader::FieldProblem(const std::string& name, const std::string& what) {
  Problem("config field " + Quote(name) + " " + what);
}

void ConfigReader::Problem(std::string problem) { problems_.push_back(std::move(problem)); }

void ConfigReader::RefuseUnknownFields() {
  if (!parsed_) return;
  std::string accepted;
  for (const std::string& name : known_) accepted += (accepted.empty() ? "" : ", ") + name;
  for (const auto& [key, value] : config_.items()) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
      Problem("unknown config field " + Quote(key) + " for kind " + Quote(kind_) +
              " (accepted: " + accepted + ")");
    }
  }
}

std::string ConfigReader::Joined() const {
  std::string text;
  for (const std::string& problem : problems_) text += (text.empty() ? "" : "; ") + problem;
  return text;
}

}  // namespace sluice::connectors
