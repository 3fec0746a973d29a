#include "connectors/common/secret.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/common/temp_dir.h"

namespace sluice::connectors {
namespace {

SecretSource Read(const std::string& json, std::vector<std::string>* problems) {
  ConfigReader reader(std::string_view(json), "sink.test");
  SecretSource source = ReadSecret(reader, "password");
  reader.RefuseUnknownFields();
  *problems = reader.problems();
  return source;
}

TEST(SecretTest, TheValueItselfIsUsedAsIs) {
  std::vector<std::string> problems;
  SecretSource source = Read(R"({"password": "pw"})", &problems);
  EXPECT_TRUE(problems.empty());
  auto secret = ResolveSecret(source, "password");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, "pw");
}

TEST(SecretTest, ComesFromTheWorkersEnvironment) {
  std::vector<std::string> problems;
  SecretSource source = Read(R"({"passwordEnv": "SLUICE_SECRET_TEST_PW"})", &problems);
  EXPECT_TRUE(problems.empty());
  setenv("SLUICE_SECRET_TEST_PW", "from-env", 1);
  auto secret = ResolveSecret(source, "password");
  unsetenv("SLUICE_SECRET_TEST_PW");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, "from-env");

  auto unset = ResolveSecret(source, "password");
  ASSERT_FALSE(unset.ok());
  EXPECT_EQ(unset.status().message(),
            "config field \"passwordEnv\" names the environment variable SLUICE_SECRET_TEST_PW, "
            "which is not set on this worker");
}

TEST(SecretTest, ComesFromAFileWithoutItsTrailingNewline) {
  sluice::testing::TempDir dir("secret");
  const std::string path = dir.str() + "/pw";
  std::ofstream(path) << "from file\n";
  std::vector<std::string> problems;
  SecretSource source = Read(R"({"passwordFile": ")" + path + R"("})", &problems);
  EXPECT_TRUE(problems.empty());
  auto secret = ResolveSecret(source, "password");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, "from file");

  source.file = dir.str() + "/missing";
  auto missing = ResolveSecret(source, "password");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("passwordFile"), std::string::npos);
  EXPECT_NE(missing.status().message().find("/missing"), std::string::npos);
}

TEST(SecretTest, OnlyOneWayAtATime) {
  std::vector<std::string> problems;
  Read(R"({"password": "pw", "passwordEnv": "X"})", &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("more than one way"), std::string::npos);
  Read(R"({"passwordEnv": ""})", &problems);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("must name an environment variable"), std::string::npos);
}

TEST(SecretTest, NoneGivenIsEmpty) {
  std::vector<std::string> problems;
  auto secret = ResolveSecret(Read("{}", &problems), "password");
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(*secret, "");
}

}  // namespace
}  // namespace sluice::connectors
