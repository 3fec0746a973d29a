#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "connectors/common/guarantee.h"
#include "connectors/common/retry.h"

namespace sluice::mysql {

// The config of a `sink.mysql` operator (proto/README.md, "Operator kinds").
struct MySqlConfig {
  std::string host;      // "host"
  uint16_t port = 3306;  // "port"
  std::string user;      // "user"
  // "password", or read on the worker from "passwordEnv" (an environment variable) or
  // "passwordFile" (a file); "" for none.
  std::string password;
  std::string database;         // "database": the default schema of the connection
  std::string statement;        // "statement": one DML statement with '?' placeholders
  uint32_t placeholders = 0;    // how many '?' the statement has (each row gives as many values)
  uint32_t timeout_ms = 10000;  // "timeoutMs": connect, read and write timeouts
  connectors::Guarantee guarantee = connectors::Guarantee::kAtLeastOnce;  // "guarantee"
  // "commitTable": with exactly-once, the markers' table (`name` or `schema.name`), created if
  // missing: sink_id VARCHAR(255) PRIMARY KEY, epoch BIGINT.
  std::string commit_table = "sluice_commits";
  connectors::RetryBudget retry;  // "retryAttempts", "retryTimeoutMs"
};

// Every problem with a `sink.mysql` config (a parsed config_json), each a phrase to follow the
// operator's label (empty when the config is valid). The coordinator reports these at submit.
std::vector<std::string> CheckMySqlConfig(const nlohmann::json& config);

// The config, or a user-domain Status whose message lists every problem. Resolves the password
// from the worker's environment or a file when the config says so (an error names the
// variable or file).
Result<MySqlConfig> ParseMySqlConfig(std::string_view config_json);

// Counts the '?' placeholders of one SQL statement, skipping quoted strings and identifiers
// and comments. Refuses text that is not one INSERT, REPLACE, UPDATE, DELETE or CALL
// statement (several statements, an unclosed quote, a SELECT); the message says why.
Result<uint32_t> CountPlaceholders(std::string_view statement);

}  // namespace sluice::mysql
