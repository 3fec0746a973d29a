#include "connectors/common/config_reader.h"

#include <gtest/gtest.h>

namespace sluice::connectors {
namespace {

TEST(ConfigReaderTest, ReadsTypedFields) {
  ConfigReader reader(R"({"host": "h", "port": 5, "tls": true})", "sink.x");
  EXPECT_EQ(reader.String("host", true), "h");
  EXPECT_EQ(reader.Integer("port", false, 1, 10), 5);
  EXPECT_EQ(reader.Boolean("tls"), true);
  EXPECT_EQ(reader.String("user", false), std::nullopt);
  reader.RefuseUnknownFields();
  EXPECT_TRUE(reader.ok()) << reader.Joined();
}

TEST(ConfigReaderTest, CollectsEveryProblem) {
  ConfigReader reader(R"({"host": 1, "port": 2.5, "tls": "yes", "extra": 0})", "sink.x");
  EXPECT_EQ(reader.String("host", true), std::nullopt);
  EXPECT_EQ(reader.Integer("port", false, 1, 10), std::nullopt);
  EXPECT_EQ(reader.Boolean("tls"), std::nullopt);
  EXPECT_EQ(reader.String("user", true), std::nullopt);
  reader.RefuseUnknownFields();
  ASSERT_EQ(reader.problems().size(), 5u) << reader.Joined();
  EXPECT_EQ(reader.problems()[0], "config field \"host\" must be a string, got 1");
  EXPECT_EQ(reader.problems()[1], "config field \"port\" must be an integer from 1 to 10, got 2.5");
  EXPECT_EQ(reader.problems()[2], "config field \"tls\" must be true or false, got \"yes\"");
  EXPECT_EQ(reader.problems()[3], "config field \"user\" is required for kind \"sink.x\"");
  EXPECT_EQ(reader.problems()[4],
            "unknown config field \"extra\" for kind \"sink.x\" (accepted: host, port, tls, user)");
}

TEST(ConfigReaderTest, RequiredStringMustNotBeEmpty) {
  ConfigReader reader(R"({"host": ""})", "sink.x");
  EXPECT_EQ(reader.String("host", true), std::nullopt);
  EXPECT_EQ(reader.Joined(), "config field \"host\" must not be empty");
}

TEST(ConfigReaderTest, RefusesConfigThatIsNotAnObject) {
  ConfigReader reader("[1]", "sink.x");
  EXPECT_EQ(reader.String("host", true), std::nullopt);
  EXPECT_EQ(reader.Joined(), "config_json must be a JSON object");
  ConfigReader broken("{", "sink.x");
  EXPECT_EQ(broken.Joined(), "config_json is not valid JSON");
}

}  // namespace
}  // namespace sluice::connectors
