#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "connectors/common/endpoint.h"
#include "connectors/common/retry.h"

namespace sluice::redis {

// The config of a `sink.redis` operator (proto/README.md, "Operator kinds").
struct RedisConfig {
  connectors::Endpoint address;  // "address": host:port (default port 6379)
  std::string username;          // "username": with a password, AUTH username password
  // "password", or read on the worker from "passwordEnv" (an environment variable) or
  // "passwordFile" (a file); "" means no AUTH.
  std::string password;
  uint32_t database = 0;       // "database": SELECT'ed after connecting
  uint32_t pipeline = 1000;    // "pipeline": commands sent per round trip
  uint32_t timeout_ms = 5000;  // "timeoutMs": connect timeout and the wait for each reply
  connectors::RetryBudget retry;  // "retryAttempts", "retryTimeoutMs"
};

// Whether this build's hiredis can speak TLS. Debian 12 ships hiredis 0.14, which cannot
// (hiredis_ssl came with 1.0), so "tls": true is refused with this reason.
constexpr bool kRedisTlsAvailable = false;
constexpr std::string_view kRedisNoTlsReason =
    "TLS is not available: this build uses Debian 12's hiredis 0.14, which has no TLS support "
    "(hiredis_ssl needs hiredis 1.0 or later); connect without TLS, or through a TLS proxy "
    "such as stunnel";

// Every problem with a `sink.redis` config (a parsed config_json), each a phrase to follow the
// operator's label (empty when the config is valid). The coordinator reports these at submit.
std::vector<std::string> CheckRedisConfig(const nlohmann::json& config);

// The config, or a user-domain Status whose message lists every problem. Resolves the password
// from the worker's environment or a file when the config says so (an error names the
// variable or file).
Result<RedisConfig> ParseRedisConfig(std::string_view config_json);

}  // namespace sluice::redis
