#include "coordinator/secrets.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::coordinator {
namespace {

TEST(SecretsTest, SecretKeysAreNamesOfPasswordsTokensAndSecretsButNotReferences) {
  EXPECT_TRUE(IsSecretKey("password"));
  EXPECT_TRUE(IsSecretKey("dbPassword"));
  EXPECT_TRUE(IsSecretKey("sasl.password"));
  EXPECT_TRUE(IsSecretKey("apiToken"));
  EXPECT_TRUE(IsSecretKey("client_secret"));
  EXPECT_FALSE(IsSecretKey("passwordEnv"));
  EXPECT_FALSE(IsSecretKey("passwordFile"));
  EXPECT_FALSE(IsSecretKey("user"));
}

TEST(SecretsTest, RedactsSecretStringsAtAnyDepthAndKeepsTheRest) {
  const std::string redacted =
      RedactJson(R"({"host":"db","password":"pw1","nested":{"token":"t"},"list":[{"secret":"s"}],)"
                 R"("passwordEnv":"DB_PW","count":3,"emptyPassword":""})");
  const auto json = nlohmann::json::parse(redacted);
  EXPECT_EQ(json["password"], kRedacted);
  EXPECT_EQ(json["nested"]["token"], kRedacted);
  EXPECT_EQ(json["list"][0]["secret"], kRedacted);
  EXPECT_EQ(json["host"], "db");
  EXPECT_EQ(json["passwordEnv"], "DB_PW");
  EXPECT_EQ(json["count"], 3);
  EXPECT_EQ(json["emptyPassword"], "");
  EXPECT_EQ(redacted.find("pw1"), std::string::npos);
}

TEST(SecretsTest, TextWithoutSecretsOrNotJsonIsLeftAsIs) {
  EXPECT_EQ(RedactJson(R"({ "a" : 1 })"), R"({ "a" : 1 })");
  EXPECT_EQ(RedactJson("not json"), "not json");
  EXPECT_EQ(RedactJson(""), "");
}

TEST(SecretsTest, RedactsEveryOperatorsConfigAndTheParams) {
  proto::JobSpec spec;
  spec.set_name("j");
  spec.add_operators()->set_config_json(R"({"password":"pw1"})");
  spec.add_operators()->set_config_json(R"({"address":"r:6379","password":"pw2"})");
  spec.set_params_json(R"({"password":"pw3","n":1})");
  const proto::JobSpec redacted = RedactSecrets(spec);
  const std::string text = redacted.DebugString();
  for (const char* secret : {"pw1", "pw2", "pw3"}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(redacted.operators(1).config_json().find("r:6379"), std::string::npos);
  EXPECT_EQ(spec.operators(0).config_json(), R"({"password":"pw1"})") << "the original is kept";
}

}  // namespace
}  // namespace sluice::coordinator
