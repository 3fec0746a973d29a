#include "connectors/redis/redis_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::redis {
namespace {

std::vector<std::string> Check(std::string_view config_json) {
  return CheckRedisConfig(nlohmann::json::parse(config_json));
}

TEST(RedisConfigTest, ReadsEveryField) {
  auto config = ParseRedisConfig(
      R"({"address": "10.0.0.5:6380", "username": "app", "password": "s3cret", "database": 3,
          "pipeline": 50, "timeoutMs": 2000, "tls": false})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->address.ToString(), "10.0.0.5:6380");
  EXPECT_EQ(config->username, "app");
  EXPECT_EQ(config->password, "s3cret");
  EXPECT_EQ(config->database, 3u);
  EXPECT_EQ(config->pipeline, 50u);
  EXPECT_EQ(config->timeout_ms, 2000u);
}

TEST(RedisConfigTest, DefaultsWithJustAnAddress) {
  auto config = ParseRedisConfig(R"({"address": "localhost"})");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->address.ToString(), "localhost:6379");
  EXPECT_EQ(config->database, 0u);
  EXPECT_EQ(config->pipeline, 1000u);
  EXPECT_TRUE(config->password.empty());
}

TEST(RedisConfigTest, ReportsEveryProblem) {
  auto problems = Check(
      R"({"address": "redis://h:1", "database": -1, "pipeline": 0, "username": "u", "db": 1})");
  ASSERT_EQ(problems.size(), 5u);
  EXPECT_EQ(problems[0],
            "config field \"address\" must be host:port, as in \"127.0.0.1:6379\" (a host has no "
            "scheme (write \"localhost\", not \"redis://localhost\")), got \"redis://h:1\"");
  EXPECT_NE(problems[1].find("\"username\" needs a \"password\""), std::string::npos);
  EXPECT_NE(problems[2].find("\"database\" must be an integer from 0"), std::string::npos);
  EXPECT_NE(problems[3].find("\"pipeline\" must be an integer from 1 to 100000"),
            std::string::npos);
  EXPECT_NE(problems[4].find("unknown config field \"db\""), std::string::npos);
}

TEST(RedisConfigTest, AddressIsRequired) {
  EXPECT_EQ(Check("{}"), std::vector<std::string>{
                             "config field \"address\" is required for kind \"sink.redis\""});
}

TEST(RedisConfigTest, RefusesTlsBecauseThisHiredisHasNone) {
  auto problems = Check(R"({"address": "h:1", "tls": true})");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("config field \"tls\" cannot be true: TLS is not available"),
            std::string::npos);
  EXPECT_NE(problems[0].find("hiredis 0.14"), std::string::npos);
  auto parsed = ParseRedisConfig(R"({"address": "h:1", "tls": true})");
  EXPECT_FALSE(parsed.ok());
}

}  // namespace
}  // namespace sluice::redis
