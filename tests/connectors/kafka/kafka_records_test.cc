#include "connectors/kafka/kafka_records.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "connectors/kafka/json_text.h"

namespace sluice::kafka {
namespace {

using nlohmann::json;

MessageView Message(std::optional<std::string_view> value) {
  MessageView m;
  m.topic = "in";
  m.partition = 2;
  m.offset = 41;
  m.value = value;
  return m;
}

std::string Line(RecordFormat format, const MessageView& m) {
  std::string out;
  auto appended = AppendRecordLine(format, m, &out);
  EXPECT_TRUE(appended.ok()) << appended.status().message();
  return out;
}

TEST(KafkaRecordsTest, StringValuesBecomeOneJsonStringLine) {
  EXPECT_EQ(Line(RecordFormat::kString, Message("say \"hi\"\n\tnow\\")),
            "\"say \\\"hi\\\"\\n\\tnow\\\\\"\n");
  EXPECT_EQ(Line(RecordFormat::kString, Message(std::string_view("\x01z", 2))), "\"\\u0001z\"\n");
  // Valid UTF-8 is kept; each invalid byte becomes U+FFFD.
  EXPECT_EQ(Line(RecordFormat::kString, Message("h\xC3\xA9")), "\"h\xC3\xA9\"\n");
  EXPECT_EQ(Line(RecordFormat::kString, Message("a\xFF\xC3z")), "\"a\xEF\xBF\xBD\xEF\xBF\xBDz\"\n");
  EXPECT_EQ(Line(RecordFormat::kString, Message("")), "\"\"\n");
}

TEST(KafkaRecordsTest, TombstonesAreSkippedByStringAndJson) {
  std::string out;
  for (auto format : {RecordFormat::kString, RecordFormat::kJson}) {
    auto appended = AppendRecordLine(format, Message(std::nullopt), &out);
    ASSERT_TRUE(appended.ok());
    EXPECT_FALSE(*appended);
  }
  EXPECT_EQ(out, "");
}

TEST(KafkaRecordsTest, JsonValuesPassThroughWithNewlinesBetweenTokensFlattened) {
  EXPECT_EQ(Line(RecordFormat::kJson, Message(R"({"a": [1, 2]})")), "{\"a\": [1, 2]}\n");
  EXPECT_EQ(Line(RecordFormat::kJson, Message("{\n  \"a\": 1\n}\n")), "{   \"a\": 1 } \n");
  EXPECT_EQ(Line(RecordFormat::kJson, Message("  42")), "42\n");
}

TEST(KafkaRecordsTest, JsonValuesThatCannotBeJsonAreErrors) {
  for (std::string_view bad :
       {std::string_view(""), std::string_view("   "), std::string_view("hello"),
        std::string_view("\x01{}", 3), std::string_view("{\"a\":\n tru}")}) {
    std::string out = "kept\n";
    auto appended = AppendRecordLine(RecordFormat::kJson, Message(bad), &out);
    ASSERT_FALSE(appended.ok()) << bad;
    EXPECT_NE(appended.status().message().find("not"), std::string::npos);
    EXPECT_EQ(out, "kept\n");  // nothing half-written
  }
}

TEST(KafkaRecordsTest, BytesRecordsCarryTheWholeMessage) {
  MessageView m = Message("v\xFF");
  m.key = "k1";
  m.timestamp_ms = 1700000000123;
  m.headers = {{"trace", std::string_view("abc")},
               {"bin", std::string_view("\x00\x01", 2)},
               {"none", std::nullopt}};
  json record = json::parse(Line(RecordFormat::kBytes, m));
  EXPECT_EQ(record, json::parse(R"({
    "key": "k1", "value": {"base64": "dv8="},
    "headers": [{"key": "trace", "value": "abc"}, {"key": "bin", "value": "\u0000\u0001"},
                {"key": "none", "value": null}],
    "timestamp": 1700000000123, "topic": "in", "partition": 2, "offset": 41})"));
  // The field order is fixed: key, value, headers, timestamp, topic, partition, offset.
  EXPECT_EQ(Line(RecordFormat::kBytes, Message(std::nullopt)),
            "{\"key\":null,\"value\":null,\"headers\":[],\"timestamp\":null,\"topic\":\"in\","
            "\"partition\":2,\"offset\":41}\n");
}

TEST(KafkaRecordsTest, Base64RoundTripsEveryLength) {
  std::string bytes;
  for (int n = 0; n < 300; ++n) {
    auto decoded = Base64Decode(Base64Encode(bytes));
    ASSERT_TRUE(decoded.has_value()) << n;
    EXPECT_EQ(*decoded, bytes);
    bytes.push_back(static_cast<char>(n * 37));
  }
  EXPECT_EQ(Base64Encode("Man"), "TWFu");
  EXPECT_EQ(Base64Encode("Ma"), "TWE=");
  EXPECT_FALSE(Base64Decode("TWE").has_value());
  EXPECT_FALSE(Base64Decode("T=Fu").has_value());
  EXPECT_FALSE(Base64Decode("TW!u").has_value());
}

TEST(KafkaRecordsTest, UnescapesJsonStringsIncludingSurrogatePairs) {
  EXPECT_EQ(UnescapeJsonString(R"("a\"b\\c\/\n\u00e9")"), "a\"b\\c/\n\xC3\xA9");
  EXPECT_EQ(UnescapeJsonString(R"("\ud83d\ude00")"), "\xF0\x9F\x98\x80");
  EXPECT_EQ(UnescapeJsonString(R"("\ud83dx")"), "\xEF\xBF\xBDx");  // a lone surrogate
  EXPECT_FALSE(UnescapeJsonString(R"("\q")").has_value());
  EXPECT_FALSE(UnescapeJsonString(R"("abc)").has_value());
}

TEST(KafkaRecordsTest, OutgoingLinesGiveKeyValueAndPartition) {
  auto m = ParseOutgoingLine(R"({"k":"user-1","v":{"n":[1,{"x":"}"}]},"p":3})");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->key, "user-1");
  EXPECT_EQ(m->value, R"({"n":[1,{"x":"}"}]})");  // the JSON text as JS wrote it
  EXPECT_EQ(m->partition, 3);

  auto plain = ParseOutgoingLine(R"({"v":"line \"one\""})");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->key.has_value());
  EXPECT_EQ(plain->value, "line \"one\"");
  EXPECT_EQ(plain->partition, -1);

  auto bytes = ParseOutgoingLine(R"({"k":{"base64":"AAE="},"v":null,"p":null})");
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->key, std::string("\x00\x01", 2));
  EXPECT_FALSE(bytes->value.has_value());  // a tombstone
  EXPECT_EQ(bytes->partition, -1);

  auto number = ParseOutgoingLine(R"({"k":17,"v":[true,false]})");
  ASSERT_TRUE(number.ok());
  EXPECT_EQ(number->key, "17");
  EXPECT_EQ(number->value, "[true,false]");
}

TEST(KafkaRecordsTest, BadOutgoingLinesAreUserErrorsSayingWhy) {
  auto missing = ParseOutgoingLine(R"({"k":"a"})");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(missing.status().message().find("undefined"), std::string::npos);
  for (const char* partition : {"-1", "1.5", "\"2\"", "true", "4294967296"}) {
    auto bad = ParseOutgoingLine(std::string(R"({"v":1,"p":)") + partition + "}");
    ASSERT_FALSE(bad.ok()) << partition;
    EXPECT_NE(
        bad.status().message().find(std::string("the partition function returned ") + partition),
        std::string::npos)
        << bad.status().message();
  }
  auto base64 = ParseOutgoingLine(R"({"v":{"base64":"!!"}})");
  ASSERT_FALSE(base64.ok());
  EXPECT_NE(base64.status().message().find("the value's \"base64\" is not base64"),
            std::string::npos);
  EXPECT_EQ(ParseOutgoingLine("{\"x\":1}").status().domain(), ErrorDomain::kInternal);
}

}  // namespace
}  // namespace sluice::kafka
