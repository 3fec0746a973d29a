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

TEST(AuthTest, LoopbackHostsAreThisMachineOnly) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("[::1]"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("[::]"));
  EXPECT_FALSE(IsLoopbackHost(""));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.5"));
  EXPECT_FALSE(IsLoopbackHost("127example.com"));
}

TEST(AuthTest, WithoutATokenOnlyLoopbackUnlessInsecure) {
  ClusterSecurity none;
  EXPECT_TRUE(CheckListenSecurity("127.0.0.1:7070", none, false, "the coordinator").ok());
  Status refused = CheckListenSecurity("0.0.0.0:7070", none, false, "the coordinator");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("refuses to listen on 0.0.0.0:7070 without an auth token"),
            std::string::npos);
  EXPECT_NE(refused.message().find("--insecure"), std::string::npos);
  EXPECT_FALSE(CheckListenSecurity(":7070", none, false, "the coordinator").ok());
  EXPECT_TRUE(CheckListenSecurity("0.0.0.0:7070", none, true, "the coordinator").ok());
  ClusterSecurity with_token;
  with_token.token = "t";
  EXPECT_TRUE(CheckListenSecurity("0.0.0.0:7070", with_token, false, "the coordinator").ok());
}

TEST(AuthTest, LoadsTlsFilesAndRefusesHalfAPair) {
  testing::TempDir dir("auth");
  const std::string cert = dir.str() + "/cert.pem";
  std::ofstream(cert) << "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n";
  SecurityFiles files;
  files.tls_ca = cert;
  auto loaded = LoadClusterSecurity(files);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  EXPECT_TRUE(loaded->client_tls());
  EXPECT_FALSE(loaded->server_tls());

  files.tls_cert = cert;
  auto half = LoadClusterSecurity(files);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("--tls-key"), std::string::npos);

  files.tls_key = dir.str() + "/missing.pem";
  auto missing = LoadClusterSecurity(files);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.pem"), std::string::npos);

  const std::string not_pem = dir.str() + "/key.txt";
  std::ofstream(not_pem) << "hello";
  files.tls_key = not_pem;
  auto bad = LoadClusterSecurity(files);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no PEM block"), std::string::npos);
}

}  // namespace
}  // namespace sluice
