#include "connectors/redis/redis_config.h"

#include <limits>

#include "connectors/common/config_reader.h"
#include "connectors/common/secret.h"

namespace sluice::redis {
namespace {

RedisConfig Read(connectors::ConfigReader& reader, connectors::SecretSource* password) {
  RedisConfig config;
  if (auto address = reader.String("address", /*required=*/true)) {
    auto endpoint = connectors::ParseEndpoint(*address, 6379);
    if (endpoint.ok()) {
      config.address = *endpoint;
    } else {
      reader.FieldProblem("address", "must be host:port, as in \"127.0.0.1:6379\" (" +
                                         endpoint.status().message() + "), got \"" + *address +
                                         "\"");
    }
  }
  if (auto username = reader.String("username", false)) config.username = *username;
  *password = connectors::ReadSecret(reader, "password");
  if (!config.username.empty() && password->value.empty() && password->env.empty() &&
      password->file.empty()) {
    reader.FieldProblem("username", "needs a \"password\" (Redis authenticates a user with both)");
  }
  // Redis has 16 databases unless configured otherwise; the server refuses an index too high.
  if (auto database = reader.Integer("database", false, 0, std::numeric_limits<int32_t>::max())) {
    config.database = static_cast<uint32_t>(*database);
  }
  if (auto pipeline = reader.Integer("pipeline", false, 1, 100000)) {
    config.pipeline = static_cast<uint32_t>(*pipeline);
  }
  if (auto timeout = reader.Integer("timeoutMs", false, 1, 3600000)) {
    config.timeout_ms = static_cast<uint32_t>(*timeout);
  }
  if (reader.Boolean("tls").value_or(false) && !kRedisTlsAvailable) {
    reader.FieldProblem("tls", "cannot be true: " + std::string(kRedisNoTlsReason));
  }
  config.retry = connectors::ReadRetryBudget(reader);
  reader.RefuseUnknownFields();
  return config;
}

}  // namespace

std::vector<std::string> CheckRedisConfig(const nlohmann::json& config) {
  connectors::ConfigReader reader(config, "sink.redis");
  connectors::SecretSource password;
  Read(reader, &password);
  return reader.problems();
}

Result<RedisConfig> ParseRedisConfig(std::string_view config_json) {
  connectors::ConfigReader reader(config_json, "sink.redis");
  connectors::SecretSource password;
  RedisConfig config = Read(reader, &password);
  if (!reader.ok()) return Status::User(reader.Joined());
  auto resolved = connectors::ResolveSecret(password, "password");
  if (!resolved.ok()) return resolved.status();
  config.password = std::move(resolved).value();
  return config;
}

}  // namespace sluice::redis
