// The Kafka connectors with real JS chains (V8): the sink's stages built from its functions, and
// a source whose JSON values the chain cannot parse.
#include <gtest/gtest.h>

#include "connectors/kafka/kafka_records.h"
#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "tests/connectors/kafka/mock_cluster.h"
#include "tests/worker/runtime/feed.h"
#include "worker/js/js_engine.h"

namespace sluice::kafka {
namespace {

std::unique_ptr<js::ChainRunner> SinkChain(const std::map<std::string, std::string>& functions,
                                           const std::string& params = "{}") {
  js::ChainSpec chain;
  chain.text_format = "json";
  chain.params_json = params;
  chain.stages = KafkaSinkStages("op3", "out", functions);
  auto runner = js::V8Engine().Create(chain, js::Limits{});
  EXPECT_TRUE(runner.ok()) << runner.status().message();
  return runner.ok() ? std::move(runner).value() : nullptr;
}

std::vector<OutgoingMessage> Outgoing(js::ChainRunner& chain, const std::string& input) {
  auto batch = chain.RunText(input);
  EXPECT_TRUE(batch.ok()) << batch.status().message();
  std::vector<OutgoingMessage> messages;
  if (!batch.ok()) return messages;
  size_t start = 0;
  while (start < batch->json_lines.size()) {
    size_t end = batch->json_lines.find('\n', start);
    auto message =
        ParseOutgoingLine(std::string_view(batch->json_lines).substr(start, end - start));
    EXPECT_TRUE(message.ok()) << message.status().message();
    if (message.ok()) messages.push_back(*message);
    start = end + 1;
  }
  return messages;
}

TEST(KafkaSinkStagesTest, KeyValueAndPartitionFunctionsMakeEachMessage) {
  auto chain = SinkChain({{"key", "(r) => r.user"},
                          {"value", "(r, params) => r.text + params.suffix"},
                          {"partition", "(r) => r.id % 2"}},
                         R"({"suffix": "!"})");
  ASSERT_NE(chain, nullptr);
  auto messages = Outgoing(*chain,
                           "{\"id\":3,\"user\":\"ann\",\"text\":\"hi\"}\n"
                           "{\"id\":4,\"user\":null,\"text\":\"yo\"}\n");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].key, "ann");
  EXPECT_EQ(messages[0].value, "hi!");
  EXPECT_EQ(messages[0].partition, 1);
  EXPECT_FALSE(messages[1].key.has_value());
  EXPECT_EQ(messages[1].value, "yo!");
  EXPECT_EQ(messages[1].partition, 0);
}

TEST(KafkaSinkStagesTest, WithoutAValueFunctionTheRecordIsTheValue) {
  auto chain = SinkChain({});
  ASSERT_NE(chain, nullptr);
  auto messages = Outgoing(*chain, "\"plain text\"\n{\"a\":[1,2],\"b\":\"c\"}\n");
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].value, "plain text");                 // a string as it is
  EXPECT_EQ(messages[1].value, "{\"a\":[1,2],\"b\":\"c\"}");  // JSON.stringify(record)
  EXPECT_FALSE(messages[1].key.has_value());
  EXPECT_EQ(messages[1].partition, -1);

  auto keyed = SinkChain({{"key", "(r) => ({ base64: r.k })"}});
  ASSERT_NE(keyed, nullptr);
  auto bytes = Outgoing(*keyed, "{\"k\":\"/wA=\"}\n");
  ASSERT_EQ(bytes.size(), 1u);
  EXPECT_EQ(bytes[0].key, std::string("\xFF\x00", 2));
  EXPECT_EQ(bytes[0].value, "{\"k\":\"/wA=\"}");
}

TEST(KafkaSinkStagesTest, AnErrorInAFunctionNamesTheSinkOperatorAndTheFunctionsLine) {
  auto chain = SinkChain({{"key", "(r) => r.id"}, {"value", "(r) => {\n  return r.missing.x;\n}"}});
  ASSERT_NE(chain, nullptr);
  auto batch = chain->RunText("{\"id\":1}\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
  EXPECT_EQ(batch.status().message().rfind("operator 'out' (op3): TypeError", 0), 0u)
      << batch.status().message();
  EXPECT_NE(batch.status().message().find("(line 2 of the function)"), std::string::npos)
      << batch.status().message();
}

TEST(KafkaSourceChainTest, AValueJsonParseRefusesNamesThePartitionAndOffset) {
  testing::MockCluster cluster;
  cluster.CreateTopic("in", 1);
  cluster.Produce("in", 0, std::nullopt, R"({"ok": 1})");
  cluster.Produce("in", 0, std::nullopt, R"({"ok": 2})");
  cluster.Produce("in", 0, std::nullopt, R"({bad: 3})");
  cluster.Flush();
  auto config =
      SourceConfigFromJson(R"({"brokers": ")" + cluster.bootstrap() +
                               R"(", "topics": ["in"], "format": "json", "bounded": true})",
                           "operator 'in' (op1)");
  ASSERT_TRUE(config.ok());
  runtime::CancelSignal cancel;
  auto source = KafkaSource::Create(std::move(config).value(),
                                    runtime::SourceContext{"operator 'in' (op1)", 0, 1, &cancel});
  ASSERT_TRUE(source.ok()) << source.status().message();
  js::ChainSpec spec;
  spec.text_format = "json";
  spec.stages.push_back(js::StageSpec{"op1", "in", "source.kafka", "", {}});
  auto chain = js::V8Engine().Create(spec, js::Limits{});
  ASSERT_TRUE(chain.ok()) << chain.status().message();
  // The messages may come in more than one batch; the good ones pass, the bad one fails.
  runtime::testing::Feed feed(**chain);
  auto batch = feed.Next(**source);
  while (batch.ok() && batch->has_value()) batch = feed.Next(**source);
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message(),
            "operator 'in' (op1): in[0] offset 2: the value is not valid JSON: {bad: 3}");
}

}  // namespace
}  // namespace sluice::kafka
