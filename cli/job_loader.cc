#include "cli/job_loader.h"

#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/process.h"

#ifndef SLUICE_SOURCE_SDK_DIR
#define SLUICE_SOURCE_SDK_DIR ""
#endif

namespace sluice::cli {
namespace {

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Result<proto::JobSpec> ParseSpec(const std::string& json, const std::string& what) {
  proto::JobSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &spec, options);
  if (!status.ok()) {
    return Status::User(what + " is not a valid job spec: " + std::string(status.message()));
  }
  return spec;
}

// `--param key=text` for a job whose params are `params`: the key must be one of them, and the
// text is read as the type of its default, as the SDK's compiler does (sdk-ts/src/params.ts).
Result<nlohmann::json> ReadParam(const std::string& job, const nlohmann::json& params,
                                 const std::string& key, const std::string& text) {
  const std::string what = "--param " + key + "=" + text + ": ";
  if (!params.contains(key)) {
    std::string known;
    for (const auto& item : params.items()) known += (known.empty() ? "" : ", ") + item.key();
    return Status::User(what + "job '" + job + "' has no param '" + key + "' " +
                        (known.empty() ? "(it declares no params)" : "(its params: " + known + ")"));
  }
  const nlohmann::json& fallback = params.at(key);
  auto refuse = [&](const std::string& expected) {
    return Status::User(what + "param '" + key + "' of job '" + job + "' must be " + expected +
                        ", as its default " + fallback.dump() + " is; got '" + text + "'");
  };
  auto parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (fallback.is_number()) {
    if (parsed.is_discarded() || !parsed.is_number()) return refuse("a number");
    return parsed;
  }
  if (fallback.is_boolean()) {
    if (text == "true") return nlohmann::json(true);
    if (text == "false") return nlohmann::json(false);
    return refuse("a boolean (true or false)");
  }
  if (fallback.is_string()) return nlohmann::json(text);
  if (fallback.is_array()) {
    if (parsed.is_discarded() || !parsed.is_array()) return refuse("a JSON array");
    return parsed;
  }
  if (fallback.is_object()) {
    if (parsed.is_discarded() || !parsed.is_object()) return refuse("a JSON object");
    return parsed;
  }
  return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

Status ApplyOverrides(const JobOverrides& overrides, proto::JobSpec& spec) {
  if (overrides.parallelism > 0) spec.set_parallelism(overrides.parallelism);
  if (!overrides.from_savepoint.empty()) {
    std::error_code error;
    auto absolute = std::filesystem::absolute(overrides.from_savepoint, error);
    spec.set_restore_from(error ? overrides.from_savepoint : absolute.string());
  }
  if (overrides.params.empty()) return Status::Ok();
  auto params =
      nlohmann::json::parse(spec.params_json().empty() ? "{}" : spec.params_json(), nullptr, false);
  if (!params.is_object()) params = nlohmann::json::object();
  for (const auto& kv : overrides.params) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::User("--param '" + kv + "' is not of the form key=value");
    }
    auto value = ReadParam(spec.name(), params, kv.substr(0, eq), kv.substr(eq + 1));
    if (!value.ok()) return value.status();
    params[kv.substr(0, eq)] = std::move(value).value();
  }
  spec.set_params_json(params.dump());
  return Status::Ok();
}

}  // namespace

std::string SdkDir() {
  const char* env = std::getenv("SLUICE_SDK_DIR");
  if (env != nullptr && *env != '\0') return env;
  return SLUICE_SOURCE_SDK_DIR;
}

Result<proto::JobSpec> LoadJob(const std::string& path, const JobOverrides& overrides,
                               const std::function<bool()>& interrupted) {
  if (access(path.c_str(), R_OK) != 0) {
    return Status::User("cannot read job file '" + path + "': " + std::strerror(errno));
  }
  if (EndsWith(path, ".json")) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    auto spec = ParseSpec(text.str(), "job file '" + path + "'");
    if (!spec.ok()) return spec;
    SLUICE_RETURN_IF_ERROR(ApplyOverrides(overrides, *spec));
    return spec;
  }
  std::string compiler = SdkDir() + "/dist/cli/compile-job.js";
  if (access(compiler.c_str(), R_OK) != 0) {
    return Status::FailedPrecondition("the TypeScript SDK is not built (" + compiler +
                                      " is missing); run scripts/build.sh or set SLUICE_SDK_DIR");
  }
  const char* node_env = std::getenv("SLUICE_NODE");
  std::vector<std::string> argv = {node_env != nullptr ? node_env : "node", compiler, path};
  if (overrides.parallelism > 0) {
    argv.push_back("--parallelism");
    argv.push_back(std::to_string(overrides.parallelism));
  }
  for (const auto& kv : overrides.params) {
    argv.push_back("--param");
    argv.push_back(kv);
  }
  auto output = RunProcess(argv, interrupted);
  if (!output.ok() && output.status().code() == StatusCode::kCancelled) {
    return Status::Cancelled("interrupted while compiling job file '" + path +
                             "'; the job compiler was stopped");
  }
  if (!output.ok()) return output.status();
  if (output->exit_code != 0) {
    // The compiler already printed its one-line reason on standard error.
    return Status::User("cannot load job file '" + path + "'");
  }
  auto spec = ParseSpec(output->stdout_text, "the spec compiled from '" + path + "'");
  if (spec.ok() && !overrides.from_savepoint.empty()) {
    JobOverrides restore_only;
    restore_only.from_savepoint = overrides.from_savepoint;
    SLUICE_RETURN_IF_ERROR(ApplyOverrides(restore_only, *spec));
  }
  return spec;
}

}  // namespace sluice::cli
