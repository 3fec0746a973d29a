#include "common/auth.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "tests/common/temp_dir.h"

namespace sluice {
namespace {

TEST(AuthTest, ReadsTheTokenFileTrimmed) {
  testing::TempDir dir("auth");
  const std::string path = dir.str() + "/token";
  std::ofstream(path) << "  s3cret\n";
  auto token = LoadAuthToken(path);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "s3cret");
}

TEST(AuthTest, AnEmptyOrMissingFileIsAnErrorNamingIt) {
  testing::TempDir dir("auth");
  const std::string path = dir.str() + "/token";
  std::ofstream(path) << "\n";
  auto empty = LoadAuthToken(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find(path), std::string::npos);
  auto missing = LoadAuthToken(dir.str() + "/nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos);
}

TEST(AuthTest, FallsBackToTheEnvironment) {
  setenv("SLUICE_AUTH_TOKEN", "from-env", 1);
  auto token = LoadAuthToken("");
  unsetenv("SLUICE_AUTH_TOKEN");
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "from-env");
  auto none = LoadAuthToken("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
}

TEST(AuthTest, ParsesBearerValues) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer abc"), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(AuthTest, TokensMatchOnlyWhenEqual) {
  EXPECT_TRUE(TokenMatches("abc", "abc"));
  EXPECT_FALSE(TokenMatches("abd", "abc"));
  EXPECT_FALSE(TokenMatches("ab", "abc"));
  EXPECT_FALSE(TokenMatches("abcd", "abc"));
  EXPECT_FALSE(TokenMatches("", "abc"));
  EXPECT_TRUE(TokenMatches("anything", ""));
}

}  // namespace
}  // namespace sluice
