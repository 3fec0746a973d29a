#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice {

// The cluster's shared secret. Clients send it as `authorization: Bearer <token>` (gRPC
// metadata or HTTP header); workers present it when they register. An empty token means the
// cluster runs without authentication (loopback only unless told --insecure).
//
// Reads the token from `token_file` when given (surrounding whitespace trimmed), else from the
// environment variable SLUICE_AUTH_TOKEN, else returns "". A named file that cannot be read, or
// holds no token, is an error naming the file.
Result<std::string> LoadAuthToken(const std::string& token_file);

// The token inside an `Authorization` value of the form "Bearer <token>" (scheme matched without
// regard to case), or "" when the value has another form.
std::string_view BearerToken(std::string_view authorization);

// Compares a presented token with the expected one in time independent of where they differ.
// An empty `expected` accepts anything (no authentication configured).
bool TokenMatches(std::string_view presented, std::string_view expected);

}  // namespace sluice
