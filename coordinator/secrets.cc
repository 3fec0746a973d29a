#include "coordinator/secrets.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace sluice::coordinator {
namespace {

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Returns whether anything was replaced.
bool Redact(nlohmann::json& value) {
  bool changed = false;
  if (value.is_object()) {
    for (auto& [key, child] : value.items()) {
      if (child.is_string() && IsSecretKey(key)) {
        if (!child.get_ref<const std::string&>().empty()) {
          child = kRedacted;
          changed = true;
        }
      } else {
        changed |= Redact(child);
      }
    }
  } else if (value.is_array()) {
    for (auto& child : value) changed |= Redact(child);
  }
  return changed;
}

}  // namespace

bool IsSecretKey(const std::string& key) {
  const std::string lower = Lower(key);
  if (EndsWith(lower, "env") || EndsWith(lower, "file")) return false;
  return lower.find("password") != std::string::npos || lower.find("secret") != std::string::npos ||
         lower.find("token") != std::string::npos;
}

std::string RedactJson(const std::string& json) {
  if (json.empty()) return json;
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !Redact(parsed)) return json;
  return parsed.dump();
}

proto::JobSpec RedactSecrets(proto::JobSpec spec) {
  for (auto& op : *spec.mutable_operators()) op.set_config_json(RedactJson(op.config_json()));
  spec.set_params_json(RedactJson(spec.params_json()));
  return spec;
}

}  // namespace sluice::coordinator
