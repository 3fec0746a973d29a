#include "connectors/common/secret.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice::connectors {

SecretSource ReadSecret(ConfigReader& reader, const std::string& name) {
  SecretSource source;
  int given = 0;
  if (auto value = reader.String(name, false)) {
    source.value = *value;
    ++given;
  }
  if (auto env = reader.String(name + "Env", false)) {
    if (env->empty()) reader.FieldProblem(name + "Env", "must name an environment variable");
    source.env = *env;
    ++given;
  }
  if (auto file = reader.String(name + "File", false)) {
    if (file->empty()) reader.FieldProblem(name + "File", "must name a file");
    source.file = *file;
    ++given;
  }
  if (given > 1) {
    reader.FieldProblem(name, "is given more than one way: use one of \"" + name + "\", \"" + name +
                                  "Env\" and \"" + name + "File\"");
  }
  return source;
}

Result<std::string> ResolveSecret(const SecretSource& source, const std::string& name) {
  if (!source.env.empty()) {
    const char* value = std::getenv(source.env.c_str());
    if (value == nullptr) {
      return Status::User("config field \"" + name + "Env\" names the environment variable " +
                          source.env + ", which is not set on this worker");
    }
    return std::string(value);
  }
  if (!source.file.empty()) {
    std::ifstream in(source.file, std::ios::binary);
    if (!in) {
      return Status::User("config field \"" + name + "File\" names " + source.file +
                          ", which this worker cannot read");
    }
    std::stringstream text;
    text << in.rdbuf();
    std::string secret = text.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    return secret;
  }
  return source.value;
}

}  // namespace sluice::connectors
