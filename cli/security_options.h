#pragma once

#include <string>
#include <vector>

#include "common/auth.h"

namespace CLI {
class App;
}

namespace sluice::cli {

// Adds --auth-token-file, --tls-cert, --tls-key and --tls-ca to a serving command (coordinator,
// worker, cluster), bound to `files`.
void AddServerSecurityOptions(CLI::App& command, SecurityFiles& files);

// Adds --auth-token-file and --tls-ca to a client command (submit, list, status, ...), bound to
// the files every JobClient of this process uses (ClientSecurityFiles()).
void AddClientSecurityOptions(CLI::App& command);

// The client commands' security files: set by the flags above when main parses its arguments;
// read by JobClient. One per process.
SecurityFiles& ClientSecurityFiles();

// The flags that give `files` to another sluice process (the workers `cluster` starts).
std::vector<std::string> SecurityArguments(const SecurityFiles& files);

}  // namespace sluice::cli
