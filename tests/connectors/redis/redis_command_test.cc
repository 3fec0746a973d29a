#include "connectors/redis/redis_command.h"

#include <gtest/gtest.h>

namespace sluice::redis {
namespace {

std::vector<RedisCommand> Decode(std::string_view lines) {
  std::vector<RedisCommand> commands;
  Status status = DecodeCommandBatch(lines, "operator 'out' (op3)", &commands);
  EXPECT_TRUE(status.ok()) << status.message();
  return commands;
}

std::string Error(std::string_view lines) {
  std::vector<RedisCommand> commands;
  Status status = DecodeCommandBatch(lines, "operator 'out' (op3)", &commands);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.domain(), ErrorDomain::kUser);
  return status.message();
}

TEST(RedisCommandTest, OneCommandPerRecord) {
  EXPECT_EQ(Decode("[\"SET\",\"k\",\"v\"]\n[\"INCRBY\",\"n\",5]\n"),
            (std::vector<RedisCommand>{{"SET", "k", "v"}, {"INCRBY", "n", "5"}}));
}

TEST(RedisCommandTest, ListsOfCommandsAndNothing) {
  EXPECT_EQ(Decode("[[\"HSET\",\"h\",\"f\",1],[\"EXPIRE\",\"h\",60]]\nnull\n[]\n"),
            (std::vector<RedisCommand>{{"HSET", "h", "f", "1"}, {"EXPIRE", "h", "60"}}));
}

TEST(RedisCommandTest, NumbersAreWrittenAsJavaScriptWouldPrintThem) {
  EXPECT_EQ(Decode("[\"XADD\",\"s\",\"*\",\"a\",0.1,\"b\",-7,\"c\",1e21,\"d\",18446744073709551615,"
                   "\"e\",1.5e-7]\n"),
            (std::vector<RedisCommand>{{"XADD", "s", "*", "a", "0.1", "b", "-7", "c", "1e+21", "d",
                                        "18446744073709551615", "e", "1.5e-7"}}));
}

TEST(RedisCommandTest, StringsStayBinarySafe) {
  auto commands = Decode("[\"SET\",\"k\",\"a\\u0000b\\nc\"]\n");
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0][2], std::string("a\0b\nc", 5));
}

TEST(RedisCommandTest, BadShapesNameTheOperatorAndQuoteTheRecord) {
  EXPECT_EQ(Error("{\"key\":1}\n"),
            "operator 'out' (op3): the function must return a command (an array such as "
            "[\"SET\", key, value]), a list of commands, or null; got an object; the function "
            "returned {\"key\":1}");
  EXPECT_NE(Error("[1,2]\n").find("a command must start with its name (a non-empty string), got 1"),
            std::string::npos);
  EXPECT_NE(Error("[\"SET\",\"k\",true]\n")
                .find("argument 2 of SET must be a string or a number, got a boolean"),
            std::string::npos);
  EXPECT_NE(Error("[[\"SET\",\"k\",1],\"DEL\"]\n")
                .find("command 1 of the list: a command must be a non-empty array, got a string"),
            std::string::npos);
  EXPECT_NE(Error("[\"SET\",\"k\",{\"a\":1}]\n").find("got an object"), std::string::npos);
}

TEST(RedisCommandTest, DescribesCommandsShortly) {
  EXPECT_EQ(DescribeCommand({"SET", "user:1", "42"}), "SET \"user:1\" \"42\"");
  RedisCommand many{"RPUSH", "list"};
  for (int i = 0; i < 20; ++i) many.push_back(std::to_string(i));
  EXPECT_EQ(DescribeCommand(many),
            "RPUSH \"list\" \"0\" \"1\" \"2\" \"3\" \"4\" \"5\" \"6\" ... (21 arguments)");
  EXPECT_EQ(DescribeCommand({"SET", "k", std::string(100, 'x')}),
            "SET \"k\" \"" + std::string(64, 'x') + "...\"");
}

TEST(RedisCommandTest, FormatsNumbersLikeJavaScript) {
  EXPECT_EQ(FormatJsNumber(0.1), "0.1");
  EXPECT_EQ(FormatJsNumber(-2.5), "-2.5");
  EXPECT_EQ(FormatJsNumber(123456.789), "123456.789");
  EXPECT_EQ(FormatJsNumber(1e20), "100000000000000000000");
  EXPECT_EQ(FormatJsNumber(1e21), "1e+21");
  EXPECT_EQ(FormatJsNumber(1.25e-6), "0.00000125");
  EXPECT_EQ(FormatJsNumber(1e-7), "1e-7");
  EXPECT_EQ(FormatJsNumber(-0.0), "0");
  EXPECT_EQ(FormatJsNumber(5e-324), "5e-324");
  EXPECT_EQ(FormatJsNumber(1.7976931348623157e308), "1.7976931348623157e+308");
}

}  // namespace
}  // namespace sluice::redis
