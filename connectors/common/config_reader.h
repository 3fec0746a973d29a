#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::connectors {

// Reads a connector's config_json field by field and collects every problem, so that the
// coordinator can report them all at submit and the worker can refuse the same config with
// the same words. Problems are phrases that follow an operator's label, e.g.
//   config field "port" must be an integer from 1 to 65535, got "x"
// A short-lived helper for one parse, used on one thread.
class ConfigReader {
 public:
  // `kind` names the operator kind in messages ("sink.redis").
  ConfigReader(std::string_view config_json, std::string kind);
  ConfigReader(const char* config_json, std::string kind)
      : ConfigReader(std::string_view(config_json), std::move(kind)) {}
  // A config already parsed (the coordinator's validator has it as JSON).
  ConfigReader(const nlohmann::json& config, std::string kind);

  // Each getter declares the field as known; an absent optional field gives nullopt, an
  // absent required one or a value of the wrong type a problem (and nullopt).
  std::optional<std::string> String(const std::string& name, bool required);
  std::optional<int64_t> Integer(const std::string& name, bool required, int64_t min, int64_t max);
  std::optional<bool> Boolean(const std::string& name);

  // A problem with a field's value that the getters cannot see (a malformed address, say).
  void FieldProblem(const std::string& name, const std::string& what);
  void Problem(std::string problem);

  // Reports the fields of the config that no getter asked for; call after every getter.
  void RefuseUnknownFields();

  bool ok() const { return problems_.empty(); }
  const std::vector<std::string>& problems() const { return problems_; }
  // Every problem on one line, separated by "; ".
  std::string Joined() const;

 private:
  const nlohmann::json* Find(const std::string& name, bool required);

  std::string kind_;
  nlohmann::json config_ = nlohmann::json::object();
  bool parsed_ = false;
  std::vector<std::string> known_;
  std::vector<std::string> problems_;
};

}  // namespace sluice::connectors
