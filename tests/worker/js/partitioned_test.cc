// Partitioned output (forward, rebalance, broadcast, hash) and keyed "reduce" stages.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using testing::Chain;
using testing::IsColumnar;
using testing::KeyHash;
using testing::Lines;
using testing::MustCreate;
using testing::Received;
using testing::Stage;

PartitionSpec Edge(Partitioning partitioning, uint32_t targets, uint32_t subtask = 0,
                   std::string key_fn = "", uint32_t max_parallelism = 128) {
  PartitionSpec edge;
  edge.partitioning = partitioning;
  edge.targets = targets;
  edge.subtask = subtask;
  edge.key_fn = std::move(key_fn);
  edge.max_parallelism = max_parallelism;
  return edge;
}

// A text chain of JSON records with the given stages, partitioned over `outputs`.
ChainSpec Partitioned(std::vector<StageSpec> stages, std::vector<PartitionSpec> outputs) {
  ChainSpec chain = Chain(std::move(stages), OutputMode::kPartitioned);
  chain.text_format = "json";
  chain.outputs = std::move(outputs);
  return chain;
}

// A text chain of JSON records starting with a reduce keyed by r.k.
ChainSpec Keyed(std::vector<StageSpec> stages, OutputMode output = OutputMode::kJsonLines) {
  ChainSpec chain = Chain(std::move(stages), output);
  chain.text_format = "json";
  chain.input_key_fn = "(r) => r.k";
  return chain;
}

uint32_t TargetOf(std::u16string_view key, uint32_t max_parallelism, uint32_t targets) {
  const uint64_t key_group = KeyHash(key) % max_parallelism;
  return static_cast<uint32_t>(key_group * targets / max_parallelism);
}

// The target of each output line of one edge.
std::map<std::string, uint32_t> TargetsOfLines(const std::vector<std::string> &partitions) {
  std::map<std::string, uint32_t> where;
  for (uint32_t t = 0; t < partitions.size(); ++t) {
    for (const std::string &line : Lines(Received(partitions[t]))) where[line] = t;
  }
  return where;
}

TEST(PartitionedTest, ForwardSendsEverythingToTheOwnSubtask) {
  auto runner = MustCreate(Partitioned({Stage("op1", "inc", "map", "(r) => r + 1")},
                                       {Edge(Partitioning::kForward, 3, 2)}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("1\n2\n3\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->partitions.size(), 1u);
  EXPECT_EQ(batch->partitions[0], (std::vector<std::string>{"", "", "2\n3\n4\n"}));
  EXPECT_EQ(batch->records_in, 3u);
  EXPECT_EQ(batch->records_out, 3u);
  EXPECT_TRUE(batch->json_lines.empty());
}

TEST(PartitionedTest, RebalanceStartsAtTheSubtaskAndContinuesAcrossBatches) {
  auto runner = MustCreate(Partitioned({}, {Edge(Partitioning::kRebalance, 3, 4)}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> first = runner->RunText("0\n1\n2\n3\n4\n");
  ASSERT_TRUE(first.ok()) << first.status().message();
  // Subtask 4 of 3 targets starts at 4 % 3 = 1.
  EXPECT_EQ(first->partitions[0], (std::vector<std::string>{"2\n", "0\n3\n", "1\n4\n"}));
  Result<BatchResult> second = runner->RunText("5\n6\n");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->partitions[0], (std::vector<std::string>{"5\n", "6\n", ""}));
}

TEST(PartitionedTest, BroadcastSendsEveryRecordToEveryTarget) {
  auto runner = MustCreate(Partitioned({Stage("op1", "even", "filter", "(r) => r % 2 === 0")},
                                       {Edge(Partitioning::kBroadcast, 3)}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("1\n2\n3\n4\n\"\xC3\xA9\"\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->partitions[0], (std::vector<std::string>{"2\n4\n", "2\n4\n", "2\n4\n"}));
  EXPECT_EQ(batch->records_out, 2u);
  Result<BatchResult> empty = runner->RunText("1\n");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->partitions[0], (std::vector<std::string>{"", "", ""}));
}

// Keys of every type the key string rule covers, with their key strings as
// the documentation (runtime/keys.js) defines them.
const std::vector<std::pair<std::string, std::u16string>> kKeys = {
    {R"("user-1")", u"user-1"},
    {R"("")", u""},
    {R"("\u00e9t\u00e9")", u"\u00e9t\u00e9"},
    {"\"\xE6\x97\xA5\xE6\x9C\xAC\"", u"\u65e5\u672c"},
    {"\"\xF0\x9F\x98\x80 smile\"", u"\U0001F600 smile"},  // a surrogate pair
    {"42", u"42"},
    {"-7", u"-7"},
    {"1.5", u"1.5"},
    {"1e21", u"1e+21"},
    {"123456789012", u"123456789012"},
    {"-0", u"0"},
    {"null", u"null"},
    {"true", u"true"},
    {R"([1, "x"])", u"[1,\"x\"]"},
    {R"({"a": 1, "b": "z"})", u"{\"a\":1,\"b\":\"z\"}"},
};

TEST(PartitionedTest, HashTargetsFollowTheDocumentedKeyGroupFormula) {
  // With as many targets as key groups, the target is the key group itself.
  for (uint32_t targets : {128u, 3u}) {
    auto runner =
        MustCreate(Partitioned({}, {Edge(Partitioning::kHash, targets, 0, "(r) => r.key", 128)}));
    ASSERT_NE(runner, nullptr);
    std::string input;
    for (size_t i = 0; i < kKeys.size(); ++i) {
      input += "{\"i\": " + std::to_string(i) + ", \"key\": " + kKeys[i].first + "}\n";
    }
    Result<BatchResult> batch = runner->RunText(input);
    ASSERT_TRUE(batch.ok()) << batch.status().message();
    ASSERT_EQ(batch->partitions.size(), 1u);
    ASSERT_EQ(batch->partitions[0].size(), targets);
    std::map<std::string, uint32_t> where = TargetsOfLines(batch->partitions[0]);
    ASSERT_EQ(where.size(), kKeys.size());
    for (const auto &[line, target] : where) {
      const size_t i = std::stoul(line.substr(line.find(':') + 1));
      EXPECT_EQ(target, TargetOf(kKeys[i].second, 128, targets))
          << "key " << kKeys[i].first << " with " << targets << " targets";
    }
  }
}

TEST(PartitionedTest, HashSpreadsKeysOverAllTargets) {
  auto runner = MustCreate(Partitioned({}, {Edge(Partitioning::kHash, 4, 0, "(r) => r.k", 128)}));
  ASSERT_NE(runner, nullptr);
  std::string input;
  for (int i = 0; i < 400; ++i) input += "{\"k\": \"key" + std::to_string(i) + "\"}\n";
  Result<BatchResult> batch = runner->RunText(input);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  for (uint32_t t = 0; t < 4; ++t) {
    const size_t n = Lines(Received(batch->partitions[0][t])).size();
    EXPECT_GT(n, 60u) << "target " << t;  // 100 expected
  }
}

TEST(PartitionedTest, SameKeyGoesToTheSameTargetFromDifferentRunners) {
  // Two differently shaped upstream chains keyed by the same field.
  auto numbers = MustCreate(Partitioned({Stage("op1", "wrap", "map", "(r) => ({id: r, tag: 'a'})")},
                                        {Edge(Partitioning::kHash, 5, 0, "(r) => r.id", 64)}));
  ChainSpec lines = Chain({Stage("op1", "parse", "map", "(l) => ({tag: 'b', id: Number(l)})")},
                          OutputMode::kPartitioned);
  lines.outputs = {Edge(Partitioning::kHash, 5, 3, "(r, p) => r.id", 64)};
  auto texts = MustCreate(lines);
  ASSERT_NE(numbers, nullptr);
  ASSERT_NE(texts, nullptr);
  std::string forward;
  std::string backward;
  for (int i = 0; i < 50; ++i) forward += std::to_string(i) + "\n";
  for (int i = 49; i >= 0; --i) backward += std::to_string(i) + "\n";
  Result<BatchResult> a = numbers->RunText(forward);
  Result<BatchResult> b = texts->RunText(backward);
  ASSERT_TRUE(a.ok()) << a.status().message();
  ASSERT_TRUE(b.ok()) << b.status().message();
  std::map<std::string, uint32_t> where_a = TargetsOfLines(a->partitions[0]);
  std::map<std::string, uint32_t> where_b = TargetsOfLines(b->partitions[0]);
  for (int i = 0; i < 50; ++i) {
    const std::string id = std::to_string(i);
    const uint32_t target_a = where_a.at("{\"id\":" + id + ",\"tag\":\"a\"}");
    EXPECT_EQ(target_a, where_b.at("{\"tag\":\"b\",\"id\":" + id + "}")) << id;
    std::u16string key(id.begin(), id.end());
    EXPECT_EQ(target_a, TargetOf(key, 64, 5)) << id;
  }
}

TEST(PartitionedTest, TwoOutputEdgesEachGetEveryRecord) {
  auto runner = MustCreate(Partitioned(
      {Stage("op1", "double", "map", "(r) => r * 2")},
      {Edge(Partitioning::kForward, 2, 1), Edge(Partitioning::kHash, 2, 1, "(r) => r", 2)}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("1\n2\n3\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  ASSERT_EQ(batch->partitions.size(), 2u);
  EXPECT_EQ(batch->partitions[0], (std::vector<std::string>{"", "2\n4\n6\n"}));
  std::vector<std::string> expected(2);
  for (const char *record : {"2", "4", "6"}) {
    std::string key = record;
    expected[TargetOf(std::u16string(key.begin(), key.end()), 2, 2)] += key + "\n";
  }
  EXPECT_EQ(batch->partitions[1], expected);
  EXPECT_EQ(batch->records_out, 3u);
}

TEST(PartitionedTest, KeySelectorErrorsNameTheLastOperator) {
  struct Case {
    const char *key_fn;
    const char *message;
  };
  for (const Case &c : {
           Case{"(r) => r.missing", "TypeError: the key selector returned undefined"},
           Case{"(r) => () => 1", "the key selector returned a function"},
           Case{"(r) => Symbol('s')", "the key selector returned a symbol"},
           Case{"(r) => {\n  return r.a.b;\n}", "(line 2 of the key selector)"},
       }) {
    auto runner = MustCreate(Partitioned(
        {Stage("op1", "m", "map", "(r) => r"), Stage("op2", "last", "filter", "(r) => true")},
        {Edge(Partitioning::kHash, 2, 0, c.key_fn)}));
    ASSERT_NE(runner, nullptr);
    Result<BatchResult> batch = runner->RunText("{\"x\": 1}\n");
    ASSERT_FALSE(batch.ok()) << c.key_fn;
    EXPECT_EQ(batch.status().domain(), ErrorDomain::kUser);
    const std::string &message = batch.status().message();
    EXPECT_EQ(message.rfind("operator 'last' (op2): ", 0), 0u) << message;
    EXPECT_NE(message.find(c.message), std::string::npos) << message;
  }
}

TEST(PartitionedTest, KeySelectorThatIsNotAFunctionIsRefusedAtCreate) {
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(
      Partitioned({Stage("op1", "m", "map", "(r) => r")}, {Edge(Partitioning::kHash, 2, 0, "42")}),
      Limits{});
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.status().message().find("operator 'm' (op1): its key selector's source"),
            std::string::npos)
      << runner.status().message();
}

TEST(PartitionedTest, BadPartitionSpecsAreInternalErrors) {
  for (const PartitionSpec &edge :
       {Edge(Partitioning::kForward, 2, 2), Edge(Partitioning::kRebalance, 0),
        Edge(Partitioning::kHash, 2, 0, ""), Edge(Partitioning::kHash, 2, 0, "(r) => r", 0)}) {
    Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(Partitioned({}, {edge}), {});
    ASSERT_FALSE(runner.ok());
    EXPECT_EQ(runner.status().domain(), ErrorDomain::kInternal) << runner.status().message();
  }
  EXPECT_FALSE(V8Engine().Create(Partitioned({}, {}), {}).ok());
}

TEST(ReduceTest, EmitsTheRunningValuePerKeyInInputOrder) {
  auto runner = MustCreate(
      Keyed({Stage("op1", "sum", "reduce", "(a, r) => ({k: r.k, n: a.n + r.n, folded: true})")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText(
      "{\"k\": \"a\", \"n\": 1}\n{\"k\": \"b\", \"n\": 10}\n{\"k\": \"a\", \"n\": 2}\n"
      "{\"k\": \"b\", \"n\": 20}\n{\"k\": \"a\", \"n\": 3}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  // The first record of a key is its value as is (no "folded").
  EXPECT_EQ(batch->json_lines,
            "{\"k\":\"a\",\"n\":1}\n"
            "{\"k\":\"b\",\"n\":10}\n"
            "{\"k\":\"a\",\"n\":3,\"folded\":true}\n"
            "{\"k\":\"b\",\"n\":30,\"folded\":true}\n"
            "{\"k\":\"a\",\"n\":6,\"folded\":true}\n");
  EXPECT_EQ(batch->records_in, 5u);
  EXPECT_EQ(batch->records_out, 5u);
}

TEST(ReduceTest, StatePersistsAcrossBatchesAndFeedsTheNextStage) {
  ChainSpec chain = Keyed({Stage("op1", "sum", "reduce", "(a, r, p) => ({k: r.k, n: a.n + r.n})"),
                           Stage("op2", "scaled", "map", "(v, p) => v.k + '=' + v.n * p.scale"),
                           Stage("op3", "notA2", "filter", "(s) => s !== 'a=20'")});
  chain.params_json = R"({"scale": 10})";
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> first = runner->RunText("{\"k\": \"a\", \"n\": 1}\n{\"k\": 7, \"n\": 5}\n");
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_EQ(first->json_lines, "\"a=10\"\n\"7=50\"\n");
  Result<BatchResult> second =
      runner->RunText("{\"k\": \"a\", \"n\": 1}\n{\"k\": \"a\", \"n\": 1}\n{\"k\": 7, \"n\": 5}\n");
  ASSERT_TRUE(second.ok()) << second.status().message();
  EXPECT_EQ(second->json_lines, "\"a=30\"\n\"7=100\"\n");
  EXPECT_EQ(second->records_in, 3u);
  EXPECT_EQ(second->records_out, 2u);
}

TEST(ReduceTest, KeysAreComparedByTheirKeyString) {
  auto runner =
      MustCreate(Keyed({Stage("op1", "count", "reduce", "(a, r) => ({k: a.k, n: a.n + 1})")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText(
      "{\"k\": 1, \"n\": 1}\n{\"k\": \"1\", \"n\": 1}\n{\"k\": {\"x\": [1]}, \"n\": 1}\n"
      "{\"k\": {\"x\": [1]}, \"n\": 1}\n{\"k\": \"\xC3\xA9\", \"n\": 1}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines,
            "{\"k\":1,\"n\":1}\n{\"k\":1,\"n\":2}\n{\"k\":{\"x\":[1]},\"n\":1}\n"
            "{\"k\":{\"x\":[1]},\"n\":2}\n{\"k\":\"\xC3\xA9\",\"n\":1}\n");
}

TEST(ReduceTest, AKeyedStageAfterOtherTransformsIsRefused) {
  // The input's key selector applies to the records as they arrive, so the keyed stage must
  // take them first (the planner never chains anything before it).
  Result<std::unique_ptr<ChainRunner>> runner =
      V8Engine().Create(Keyed({Stage("op1", "items", "flat_map", "(r) => r.xs"),
                               Stage("op2", "sum", "reduce", "(a, x) => a + x")}),
                        Limits{});
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.status().message().find("operator 'sum' (op2)"), std::string::npos)
      << runner.status().message();
}

TEST(ReduceTest, AChainedKeyByKeysTheRecordsWhereTheKeyedStageTakesThem) {
  // A keyBy the planner chained (parallelism 1 on both sides): the keyed stage comes after
  // other stages and its key selector is the chained edge's.
  ChainSpec chain = Keyed({Stage("op1", "items", "flat_map", "(r) => r.xs"),
                           Stage("op2", "sum", "reduce", "(a, x) => ({k: a.k, n: a.n + x.n})")});
  chain.keyed_input_in_chain = true;
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText(
      "{\"xs\": [{\"k\": \"a\", \"n\": 1}, {\"k\": \"b\", \"n\": 2}]}\n"
      "{\"xs\": [{\"k\": \"a\", \"n\": 3}]}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines,
            "{\"k\":\"a\",\"n\":1}\n{\"k\":\"b\",\"n\":2}\n{\"k\":\"a\",\"n\":4}\n");
}

TEST(ReduceTest, AChainedKeySelectorsErrorsNameTheKeyedOperatorsKeySelector) {
  ChainSpec chain = Keyed({Stage("op1", "items", "flat_map", "(r) => r.xs"),
                           Stage("op2", "sum", "reduce", "(a, x) => a")});
  chain.input_key_fn = "(x) => x.k";
  chain.keyed_input_in_chain = true;
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("{\"xs\": [{\"k\": 1}, {}]}\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message(),
            "operator 'sum' (op2) (key selector): TypeError: the key selector returned undefined");
}

TEST(ReduceTest, AChainedWindowFiresOnTheWatermarkOfTheAssignerBeforeIt) {
  ChainSpec chain = Keyed(
      {Stage("op1", "ts", "assign_timestamps", "(r) => r.t"),
       Stage("op2", "per 10", "window", "",
             R"({"assigner":{"type":"tumbling","size":10},"function":"count"})")});
  chain.keyed_input_in_chain = true;
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  // After the batch the watermark is 25 - 1: [0, 10) and [10, 20) fire in the same call, as a
  // task behind an exchange would fire them on the watermark that follows the batch.
  Result<BatchResult> batch = runner->RunText(
      "{\"k\":\"a\",\"t\":1}\n{\"k\":\"a\",\"t\":5}\n{\"k\":\"b\",\"t\":12}\n{\"k\":\"a\",\"t\":25}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->json_lines,
            "{\"key\":\"a\",\"window\":{\"start\":0,\"end\":10},\"value\":2}\n"
            "{\"key\":\"b\",\"window\":{\"start\":10,\"end\":20},\"value\":1}\n");
  Result<BatchResult> last = runner->AdvanceTime(kMaxWatermark, 0);
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(last->json_lines, "{\"key\":\"a\",\"window\":{\"start\":20,\"end\":30},\"value\":1}\n");
}

TEST(ReduceTest, ReduceAfterASourceFileStageAndIntoAHashEdge) {
  ChainSpec chain = Keyed({Stage("op1", "read", "source.file", "", R"({"format":"json"})"),
                           Stage("op2", "max", "reduce", "(a, r) => r.n > a.n ? r : a")},
                          OutputMode::kPartitioned);
  chain.outputs = {Edge(Partitioning::kHash, 2, 0, "(v) => v.k", 16)};
  auto runner = MustCreate(chain);
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch =
      runner->RunText("{\"k\":\"x\",\"n\":3}\n{\"k\":\"x\",\"n\":1}\n{\"k\":\"x\",\"n\":4}\n");
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  const uint32_t target = TargetOf(u"x", 16, 2);
  // The same object leaves the reduce twice: each time it is encoded as it was then.
  EXPECT_TRUE(IsColumnar(batch->partitions[0][target]));
  EXPECT_EQ(Received(batch->partitions[0][target]),
            "{\"k\":\"x\",\"n\":3}\n{\"k\":\"x\",\"n\":3}\n{\"k\":\"x\",\"n\":4}\n");
  EXPECT_EQ(batch->partitions[0][1 - target], "");
}

TEST(ReduceTest, WithoutAnInputKeySelectorItIsRefused) {
  ChainSpec chain = Keyed({Stage("op2", "total", "reduce", "(a, r) => a + r")});
  chain.input_key_fn.clear();
  Result<std::unique_ptr<ChainRunner>> runner = V8Engine().Create(chain, Limits{});
  ASSERT_FALSE(runner.ok());
  EXPECT_EQ(runner.status().domain(), ErrorDomain::kUser);
  EXPECT_NE(runner.status().message().find("operator 'total' (op2)"), std::string::npos)
      << runner.status().message();
  EXPECT_NE(runner.status().message().find("key selector"), std::string::npos);
}

TEST(ReduceTest, InputKeySelectorErrorsNameTheReduceOperator) {
  auto runner = MustCreate(Keyed({Stage("op2", "total", "reduce", "(a, r) => a")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> batch = runner->RunText("{\"k\": 1}\n{\"nokey\": 1}\n");
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().message(),
            "operator 'total' (op2): TypeError: the key selector returned undefined");

  ChainSpec throwing = Keyed({Stage("op1", "total", "reduce", "(a, r) => a")});
  throwing.input_key_fn = "(r) =>\n  r.a.b";
  auto bad = MustCreate(throwing);
  ASSERT_NE(bad, nullptr);
  Result<BatchResult> failed = bad->RunText("{\"k\": 1}\n");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message().rfind("operator 'total' (op1): TypeError", 0), 0u)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("(line 2 of the key selector)"), std::string::npos)
      << failed.status().message();
}

TEST(ReduceTest, ReduceFunctionErrorsNameTheReduceOperator) {
  auto runner = MustCreate(Keyed({Stage("op1", "boom", "reduce", "(a, r) => a.x.y")}));
  ASSERT_NE(runner, nullptr);
  Result<BatchResult> first = runner->RunText("{\"k\": 1}\n");
  ASSERT_TRUE(first.ok()) << first.status().message();  // first record: no call
  Result<BatchResult> second = runner->RunText("{\"k\": 1}\n");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message().rfind("operator 'boom' (op1): TypeError", 0), 0u)
      << second.status().message();
}

}  // namespace
}  // namespace sluice::js
