#include "connectors/mysql/mysql_config.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::mysql {
namespace {

std::vector<std::string> Check(std::string_view config_json) {
  return CheckMySqlConfig(nlohmann::json::parse(config_json));
}

TEST(MySqlConfigTest, ReadsEveryField) {
  auto config = ParseMySqlConfig(
      R"j({"host": "db.internal", "port": 3307, "user": "app", "password": "pw", "database": "shop",
          "statement": "INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE b = VALUES(b)",
          "timeoutMs": 3000})j");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->host, "db.internal");
  EXPECT_EQ(config->port, 3307);
  EXPECT_EQ(config->user, "app");
  EXPECT_EQ(config->password, "pw");
  EXPECT_EQ(config->database, "shop");
  EXPECT_EQ(config->placeholders, 2u);
  EXPECT_EQ(config->timeout_ms, 3000u);
}

TEST(MySqlConfigTest, DefaultsThePortAndPassword) {
  auto config = ParseMySqlConfig(
      R"j({"host": "127.0.0.1", "user": "u", "database": "d", "statement": "REPLACE INTO t VALUES (?)"})j");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->port, 3306);
  EXPECT_EQ(config->password, "");
}

TEST(MySqlConfigTest, ReportsEveryMissingOrBadField) {
  auto problems = Check(R"j({"host": "mysql://h", "port": 70000, "table": "t"})j");
  ASSERT_EQ(problems.size(), 6u);
  EXPECT_NE(problems[0].find("config field \"host\" must be a host name or address"),
            std::string::npos);
  EXPECT_NE(problems[1].find("config field \"port\" must be an integer from 1 to 65535, got 70000"),
            std::string::npos);
  EXPECT_EQ(problems[2], "config field \"user\" is required for kind \"sink.mysql\"");
  EXPECT_EQ(problems[3], "config field \"database\" is required for kind \"sink.mysql\"");
  EXPECT_EQ(problems[4], "config field \"statement\" is required for kind \"sink.mysql\"");
  EXPECT_NE(problems[5].find("unknown config field \"table\""), std::string::npos);
}

TEST(MySqlConfigTest, ReadsTheGuaranteeAndTheCommitTable) {
  auto config = ParseMySqlConfig(
      R"j({"host": "h", "user": "u", "database": "d", "statement": "INSERT INTO t VALUES (?)",
          "guarantee": "exactly-once", "commitTable": "ops.sink_commits"})j");
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->guarantee, connectors::Guarantee::kExactlyOnce);
  EXPECT_EQ(config->commit_table, "ops.sink_commits");

  auto defaults = ParseMySqlConfig(
      R"j({"host": "h", "user": "u", "database": "d", "statement": "INSERT INTO t VALUES (?)"})j");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->guarantee, connectors::Guarantee::kAtLeastOnce);
  EXPECT_EQ(defaults->commit_table, "sluice_commits");
}

TEST(MySqlConfigTest, RefusesAnUnknownGuaranteeAndABadCommitTable) {
  auto problems = Check(
      R"j({"host": "h", "user": "u", "database": "d", "statement": "INSERT INTO t VALUES (?)",
          "guarantee": "exactly_once", "commitTable": "a.b.c"})j");
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0],
            "config field \"guarantee\" must be \"at-least-once\" or \"exactly-once\", got "
            "\"exactly_once\"");
  EXPECT_EQ(problems[1],
            "config field \"commitTable\" must be a table name or schema.table, each 1 to 64 "
            "characters of a-z, A-Z, 0-9, '_' and '$', got \"a.b.c\"");
}

TEST(MySqlConfigTest, RefusesAStatementWithoutPlaceholders) {
  auto problems = Check(
      R"j({"host": "h", "user": "u", "database": "d", "statement": "INSERT INTO t VALUES (1)"})j");
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("config field \"statement\" has no '?' placeholders"),
            std::string::npos);
}

TEST(CountPlaceholdersTest, CountsOnlyRealPlaceholders) {
  EXPECT_EQ(*CountPlaceholders("INSERT INTO t VALUES (?, ?, ?)"), 3u);
  EXPECT_EQ(*CountPlaceholders("insert into t (a, `b?`) values (?, '?', \"?\") -- what?\n"), 1u);
  EXPECT_EQ(*CountPlaceholders("/* why? */ UPDATE t SET a = ? WHERE k = ? # really?"), 2u);
  EXPECT_EQ(*CountPlaceholders("INSERT INTO t VALUES ('it''s?', 'a\\'?', ?);  "), 1u);
  EXPECT_EQ(*CountPlaceholders("CALL record_event(?, ?)"), 2u);
  EXPECT_EQ(*CountPlaceholders("DELETE FROM t WHERE a = 5--?\n"), 1u)
      << "'--' without a space after it is not a comment in MySQL";
}

TEST(CountPlaceholdersTest, RefusesWhatIsNotOneWriteStatement) {
  struct Case {
    const char* statement;
    const char* why;
  };
  for (const Case& c : {
           Case{"SELECT * FROM t WHERE a = ?",
                "must be an INSERT, REPLACE, UPDATE, DELETE or CALL"},
           Case{"INSERT INTO t VALUES (?); DROP TABLE t", "single statement"},
           Case{"INSERT INTO t VALUES ('?)", "unclosed ' quote"},
           Case{"INSERT INTO t VALUES (?) /* note", "unclosed /* comment"},
           Case{"", "must be an INSERT"},
       }) {
    auto count = CountPlaceholders(c.statement);
    ASSERT_FALSE(count.ok()) << c.statement;
    EXPECT_NE(count.status().message().find(c.why), std::string::npos)
        << c.statement << ": " << count.status().message();
  }
}

}  // namespace
}  // namespace sluice::mysql
