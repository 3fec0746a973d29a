#pragma once

#include <string>

#include "common/status.h"
#include "connectors/common/config_reader.h"

namespace sluice::connectors {

// Where a connector's secret (a password) comes from: the config itself, or, so that it need not
// travel in the job spec, an environment variable or a file on the worker. At most one is set.
struct SecretSource {
  std::string value;  // "<name>": in the spec
  std::string env;    // "<name>Env": the worker's environment variable of this name
  std::string file;   // "<name>File": the contents of this file on the worker
};

// Reads "<name>", "<name>Env" and "<name>File" (all optional), with a problem when more than
// one is given.
SecretSource ReadSecret(ConfigReader& reader, const std::string& name);

// The secret, read on the worker: the value, the variable's value, or the file's contents
// (trailing newlines trimmed). An unset variable or an unreadable file is a user error naming
// the field and the variable or file. "" when none is set.
Result<std::string> ResolveSecret(const SecretSource& source, const std::string& name);

}  // namespace sluice::connectors
