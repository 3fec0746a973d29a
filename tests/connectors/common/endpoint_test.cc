#include "connectors/common/endpoint.h"

#include <gtest/gtest.h>

namespace sluice::connectors {
namespace {

TEST(EndpointTest, ReadsHostAndPort) {
  auto endpoint = ParseEndpoint("127.0.0.1:6380", 6379);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().message();
  EXPECT_EQ(endpoint->host, "127.0.0.1");
  EXPECT_EQ(endpoint->port, 6380);
  EXPECT_EQ(endpoint->ToString(), "127.0.0.1:6380");
}

TEST(EndpointTest, BareHostTakesTheDefaultPort) {
  auto endpoint = ParseEndpoint("cache.internal", 6379);
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->ToString(), "cache.internal:6379");
}

TEST(EndpointTest, ReadsBracketedIpv6) {
  auto endpoint = ParseEndpoint("[::1]:7000", 6379);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status().message();
  EXPECT_EQ(endpoint->host, "::1");
  EXPECT_EQ(endpoint->port, 7000);
  EXPECT_EQ(endpoint->ToString(), "[::1]:7000");
  auto bare = ParseEndpoint("[::1]", 6379);
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 6379);
}

TEST(EndpointTest, RefusesMalformedAddressesSayingWhy) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"", "empty"}, Case{"host:", "port after ':' is missing"},
                        Case{":6379", "empty"}, Case{"host:0", "from 1 to 65535"},
                        Case{"host:65536", "from 1 to 65535"}, Case{"host:63x", "not \"63x\""},
                        Case{"redis://host:6379", "no scheme"}, Case{"::1:6379", "brackets"},
                        Case{"[::1:6379", "not closed"}, Case{"[::1]6379", "expected ':'"},
                        Case{"my host:1", "contains ' '"}, Case{"host/db:1", "contains '/'"}}) {
    auto endpoint = ParseEndpoint(c.text, 6379);
    ASSERT_FALSE(endpoint.ok()) << c.text;
    EXPECT_NE(endpoint.status().message().find(c.why), std::string::npos)
        << c.text << ": " << endpoint.status().message();
  }
}

}  // namespace
}  // namespace sluice::connectors
