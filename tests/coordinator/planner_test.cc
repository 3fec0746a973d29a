#include "coordinator/planner.h"

#include <gtest/gtest.h>

#include "tests/coordinator/spec_builder.h"

namespace sluice::coordinator {
namespace {

using testing::LinearJob;
using testing::SpecBuilder;

const std::map<std::string, std::string> kFn = {{"fn", "(r) => r"}};
const JobId kJob("job-7");

std::vector<std::string> TaskIds(const ExecutionPlan& plan) {
  std::vector<std::string> ids;
  for (const PlannedTask& task : plan.tasks) ids.push_back(task.id.str());
  return ids;
}

TEST(PlannerTest, MakesTaskIdsFromJobGroupAndSubtask) {
  EXPECT_EQ(MakeTaskId(JobId("j1"), 0, 0).str(), "j1/g0.0");
  EXPECT_EQ(MakeTaskId(kJob, 2, 13).str(), "job-7/g2.13");
}

TEST(PlannerTest, ChainsLinearForwardPipelineIntoOneGroup) {
  auto plan = PlanJob(LinearJob().Parallelism(2).Build(), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 1u);
  const TaskGroup& group = plan->groups[0];
  EXPECT_EQ(group.index, 0);
  EXPECT_EQ(group.operator_ids, (std::vector<std::string>{"op1", "op2", "op3"}));
  EXPECT_EQ(group.display, "numbers -> double -> results");
  EXPECT_EQ(group.parallelism, 2u);
  EXPECT_TRUE(plan->edges.empty());
  EXPECT_EQ(TaskIds(*plan), (std::vector<std::string>{"job-7/g0.0", "job-7/g0.1"}));
  EXPECT_EQ(plan->tasks[1].group, 0);
  EXPECT_EQ(plan->tasks[1].subtask, 1u);
}

TEST(PlannerTest, DefaultParallelismIsOne) {
  auto plan = PlanJob(LinearJob().Build(), kJob);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->groups[0].parallelism, 1u);
  EXPECT_EQ(TaskIds(*plan), (std::vector<std::string>{"job-7/g0.0"}));
}

TEST(PlannerTest, SplitsChainWhereParallelismChanges) {
  auto spec = LinearJob().Build();
  spec.mutable_operators(1)->set_parallelism(3);
  spec.mutable_operators(2)->set_parallelism(3);
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->groups.size(), 2u);
  EXPECT_EQ(plan->groups[0].display, "numbers");
  EXPECT_EQ(plan->groups[0].parallelism, 1u);
  EXPECT_EQ(plan->groups[1].display, "double -> results");
  EXPECT_EQ(plan->groups[1].parallelism, 3u);
  ASSERT_EQ(plan->edges.size(), 1u);
  EXPECT_EQ(plan->edges[0].from, 0);
  EXPECT_EQ(plan->edges[0].to, 1);
  EXPECT_EQ(plan->edges[0].partitioning, proto::FORWARD);
  EXPECT_EQ(plan->tasks.size(), 4u);  // 1 + 3
  EXPECT_EQ(plan->tasks.back().id.str(), "job-7/g1.2");
}

TEST(PlannerTest, DoesNotChainAcrossNonForwardEdges) {
  auto spec = SpecBuilder("j")
                  .Op("src", "numbers", "source.generator")
                  .Op("m", "double", "map", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "m", proto::REBALANCE)
                  .Edge("m", "out", proto::PARTITIONING_UNSPECIFIED)
                  .Parallelism(2)
                  .Build();
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->groups.size(), 2u);
  EXPECT_EQ(plan->groups[0].display, "numbers");
  EXPECT_EQ(plan->groups[1].display, "double -> results");
  ASSERT_EQ(plan->edges.size(), 1u);
  EXPECT_EQ(plan->edges[0].partitioning, proto::REBALANCE);
  EXPECT_EQ(plan->tasks.size(), 4u);
}

TEST(PlannerTest, PlansNonLinearGraphInTopologicalOrder) {
  // Listed sinks first: the plan orders groups by the graph, not by the spec.
  //   src -> parse -> split ==> left  -> out_l
  //                         \=> right -> out_r (fan-out: no chaining past split)
  //   plus a second source joining right (fan-in: right starts its own group).
  auto spec = SpecBuilder("j")
                  .Op("out_l", "left sink", "sink.collect")
                  .Op("out_r", "right sink", "sink.collect")
                  .Op("right", "right", "map", "", kFn)
                  .Op("left", "left", "map", "", kFn)
                  .Op("split", "split", "map", "", kFn)
                  .Op("parse", "parse", "map", "", kFn)
                  .Op("src", "read", "source.generator")
                  .Op("src2", "read2", "source.generator")
                  .Edge("src", "parse")
                  .Edge("parse", "split")
                  .Edge("split", "left")
                  .Edge("split", "right")
                  .Edge("left", "out_l")
                  .Edge("right", "out_r")
                  .Edge("src2", "right", proto::REBALANCE)
                  .Build();
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> displays;
  for (const TaskGroup& group : plan->groups) displays.push_back(group.display);
  // Topological; among groups ready at the same time, the one whose head comes first in the spec.
  EXPECT_EQ(displays, (std::vector<std::string>{"read -> parse -> split", "left -> left sink",
                                                "read2", "right -> right sink"}));
  for (const GroupEdge& edge : plan->edges) EXPECT_LT(edge.from, edge.to);
  EXPECT_EQ(plan->edges.size(), 3u);
  for (size_t i = 0; i < plan->groups.size(); ++i) EXPECT_EQ(plan->groups[i].index, int(i));
  EXPECT_EQ(plan->tasks.size(), 4u);
}

// A q5-like job: a keyBy between operators of parallelism 1 is a call, not an exchange, also
// into a second keyed operator (the task holds both operators' state).
proto::JobSpec TwoKeyedStages(uint32_t parallelism) {
  return SpecBuilder("j")
      .Op("src", "bids", "source.generator")
      .Op("f", "only bids", "filter", "", kFn)
      .Op("w1", "count", "window", "", {})
      .Op("w2", "top", "window", "", {})
      .Op("m", "shape", "map", "", kFn)
      .Op("out", "results", "sink.collect")
      .Edge("src", "f")
      .Edge("f", "w1", proto::HASH)
      .Edge("w1", "w2", proto::HASH)
      .Edge("w2", "m")
      .Edge("m", "out")
      .Parallelism(parallelism)
      .Build();
}

TEST(PlannerTest, ChainsKeyByAtParallelismOneIntoSeveralKeyedOperators) {
  auto plan = PlanJob(TwoKeyedStages(1), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(plan->groups[0].display, "bids -> only bids -> count -> top -> shape -> results");
  EXPECT_EQ(plan->groups[0].operator_ids,
            (std::vector<std::string>{"src", "f", "w1", "w2", "m", "out"}));
  EXPECT_TRUE(plan->edges.empty());
  EXPECT_EQ(plan->tasks.size(), 1u);
}

// Stateless operators between two keyed ones chain too; a keyed operator with a side output
// (late records) ends its chain, since a chain's emitted records are its main output.
TEST(PlannerTest, ChainsThroughAMapBetweenKeyedOperatorsButNotOutOfASideOutput) {
  auto builder = SpecBuilder("j")
                     .Op("src", "bids", "source.generator")
                     .Op("w1", "count", "window", "", {})
                     .Op("m", "shape", "map", "", kFn)
                     .Op("w2", "top", "window", "", {})
                     .Op("out", "results", "sink.collect")
                     .Edge("src", "w1", proto::HASH)
                     .Edge("w1", "m")
                     .Edge("m", "w2", proto::HASH)
                     .Edge("w2", "out")
                     .Parallelism(1);
  auto plan = PlanJob(builder.Build(), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(plan->groups[0].display, "bids -> count -> shape -> top -> results");

  auto spec = builder.Op("late", "late bids", "sink.collect").Edge("w1", "late").Build();
  spec.mutable_edges(spec.edges_size() - 1)->set_from_output("late");
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> displays;
  for (const TaskGroup& group : plan->groups) displays.push_back(group.display);
  EXPECT_EQ(displays, (std::vector<std::string>{"bids -> count", "shape -> top -> results",
                                                "late bids"}));
}

// bids -> keyBy -> count (w1) -> keyBy -> top (w2) -> results at parallelism 2, both windows
// tumbling counts (so both keyBy edges may get a combiner).
proto::JobSpec TwoCountWindows() {
  const std::string count =
      R"({"assigner":{"type":"tumbling","size":1000},"function":"count"})";
  return SpecBuilder("j")
      .Op("src", "bids", "source.generator")
      .Op("w1", "count", "window", count, {})
      .Op("w2", "top", "window", count, {})
      .Op("out", "results", "sink.collect")
      .Edge("src", "w1", proto::HASH)
      .Edge("w1", "w2", proto::HASH)
      .Edge("w2", "out")
      .Parallelism(2)
      .Build();
}

// At parallelism 2 both keyBy edges are exchanges with a combiner each; at parallelism 1 the
// exchanges, and with them the combiners, disappear.
TEST(PlannerTest, AChainedKeyByHasNoCombiner) {
  auto spec = TwoCountWindows();
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 3u);
  ASSERT_EQ(plan->edges.size(), 2u);
  EXPECT_EQ(plan->edges[0].combiner, "w1");
  EXPECT_EQ(plan->edges[1].combiner, "w2");
  spec.set_parallelism(1);
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(plan->groups[0].display, "bids -> count -> top -> results");
  EXPECT_TRUE(plan->edges.empty());
}

// A keyBy the user marked already partitioned chains at any parallelism (no exchange, so no
// combiner); unmarked, the same keyBy at parallelism 2 is an exchange.
TEST(PlannerTest, ChainsAnAlreadyPartitionedKeyByAboveParallelismOne) {
  auto spec = TwoCountWindows();
  spec.mutable_edges(1)->set_partitioned(true);
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> displays;
  for (const TaskGroup& group : plan->groups) displays.push_back(group.display);
  EXPECT_EQ(displays, (std::vector<std::string>{"bids -> combine(count)", "count -> top -> results"}));
  ASSERT_EQ(plan->edges.size(), 1u);
  EXPECT_EQ(plan->edges[0].combiner, "w1");
  EXPECT_EQ(TaskIds(*plan), (std::vector<std::string>{"job-7/g0.0", "job-7/g0.1", "job-7/g1.0",
                                                      "job-7/g1.1"}));
  // Unmarked, a keyBy that returns a window's own key (c) => c.key chains the same way; another
  // selector does not.
  spec.mutable_edges(1)->set_partitioned(false);
  spec.mutable_edges(1)->set_key_fn("(c) => c.key");
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->groups.size(), 2u);
  EXPECT_EQ(plan->groups[1].display, "count -> top -> results");
  spec.mutable_edges(1)->set_key_fn("(c) => c.window.start");
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->groups.size(), 3u);
  spec.mutable_edges(1)->set_partitioned(true);
  // Where the keyed operator has a second input, the edge stays an exchange.
  auto branch = SpecBuilder("j").Op("other", "more counts", "source.generator").Build();
  *spec.add_operators() = branch.operators(0);
  auto* extra = spec.add_edges();
  extra->set_from("other");
  extra->set_to("w2");
  extra->set_partitioning(proto::HASH);
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->edges.size(), 3u);
}

TEST(PlannerTest, KeepsKeyByExchangeAboveParallelismOne) {
  auto plan = PlanJob(TwoKeyedStages(2), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  std::vector<std::string> displays;
  for (const TaskGroup& group : plan->groups) displays.push_back(group.display);
  EXPECT_EQ(displays, (std::vector<std::string>{"bids -> only bids", "count",
                                                "top -> shape -> results"}));
  EXPECT_EQ(plan->edges.size(), 2u);
}

TEST(PlannerTest, KeepsKeyByExchangeWhenParallelismChanges) {
  auto spec = TwoKeyedStages(1);
  spec.mutable_operators(2)->set_parallelism(2);
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->groups.size(), 3u);
}

// source -> keyBy -> window(config, functions) -> sink at parallelism 2.
proto::JobSpec KeyedWindow(const std::string& config,
                           const std::map<std::string, std::string>& functions = {}) {
  return SpecBuilder("j")
      .Op("src", "bids", "source.generator")
      .Op("w", "counts", "window", config, functions)
      .Op("out", "results", "sink.collect")
      .Edge("src", "w", proto::HASH)
      .Edge("w", "out")
      .Parallelism(2)
      .Build();
}

TEST(PlannerTest, CombinesBeforeAKeyedExchangeIntoAWindowThatMerges) {
  for (const auto& [config, functions] :
       std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
           {R"({"assigner": {"type": "tumbling", "size": 10}, "function": "count"})", {}},
           {R"({"assigner": {"type": "sliding", "size": 10, "slide": 5}, "function": "reduce",
                "allowedLateness": 5, "lateOutput": true, "trigger": {"type": "event_time"}})",
            {{"reduce", "(a, b) => a"}}},
           {R"({"assigner": {"type": "tumbling", "size": 10}, "function": "aggregate"})",
            {{"create", "() => 0"}, {"add", "(a) => a + 1"}, {"merge", "(a, b) => a + b"}}},
           {R"({"assigner": {"type": "session", "gap": 10}, "function": "count"})", {}}}) {
    auto plan = PlanJob(KeyedWindow(config, functions), kJob);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    ASSERT_EQ(plan->edges.size(), 1u) << config;
    EXPECT_EQ(plan->edges[0].combiner, "w") << config;
    EXPECT_EQ(plan->groups[0].display, "bids -> combine(counts)") << config;
    EXPECT_EQ(plan->groups[1].display, "counts -> results") << config;
  }
}

TEST(PlannerTest, NoCombinerWhereTheWindowCannotMergeOrTheJobSaysSo) {
  const std::string count = R"({"assigner": {"type": "tumbling", "size": 10}, "function": "count")";
  for (const std::string& config : std::vector<std::string>{
           R"({"assigner": {"type": "session", "gap": 10}, "function": "reduce"})",
           count + R"(, "trigger": {"type": "count", "count": 3}})",
           count + R"(, "time": "processing"})",
           std::string(R"({"assigner": {"type": "tumbling", "size": 10}, "function": "aggregate"})"),
           std::string("not json")}) {
    auto plan = PlanJob(KeyedWindow(config, {{"create", "() => 0"}, {"add", "(a) => a + 1"}}),
                        kJob);
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    EXPECT_EQ(plan->edges[0].combiner, "") << config;
    EXPECT_EQ(plan->groups[0].display, "bids") << config;
  }
  // An input that may go idle (an idleTimeout upstream): the window's watermark may pass what
  // a sending task last sent.
  auto spec = KeyedWindow(count + "}");
  spec.mutable_operators(0)->set_config_json(R"({"count": 10, "idleTimeout": 1000})");
  auto idle = PlanJob(spec, kJob);
  ASSERT_TRUE(idle.ok()) << idle.status().message();
  EXPECT_EQ(idle->edges[0].combiner, "");
  spec = KeyedWindow(count + "}");
  spec.set_no_combiners(true);
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->edges[0].combiner, "");
  // At parallelism 1 the keyBy is chained: no exchange, no combiner.
  spec = KeyedWindow(count + "}");
  spec.set_parallelism(1);
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(plan->groups[0].display, "bids -> counts -> results");
}

// A q3-like job: one source, a filter, two branches (filter, map), a union, a keyBy into a
// process function, a sink.
proto::JobSpec FanOutUnionKeyed(uint32_t parallelism) {
  return SpecBuilder("j")
      .Op("src", "events", "source.generator")
      .Op("f", "no bids", "filter", "", kFn)
      .Op("fp", "persons", "filter", "", kFn)
      .Op("mp", "person rows", "map", "", kFn)
      .Op("fa", "auctions", "filter", "", kFn)
      .Op("ma", "auction rows", "map", "", kFn)
      .Op("u", "union", "union")
      .Op("p", "join", "process", "", {{"processElement", "(r) => {}"}})
      .Op("out", "results", "sink.collect")
      .Edge("src", "f")
      .Edge("f", "fp")
      .Edge("fp", "mp")
      .Edge("f", "fa")
      .Edge("fa", "ma")
      .Edge("mp", "u")
      .Edge("ma", "u")
      .Edge("u", "p", proto::HASH)
      .Edge("p", "out")
      .Parallelism(parallelism)
      .Build();
}

std::vector<std::string> Displays(const ExecutionPlan& plan) {
  std::vector<std::string> displays;
  for (const TaskGroup& group : plan.groups) displays.push_back(group.display);
  return displays;
}

// At parallelism 1 fan-out, union and keyBy are calls inside one task.
TEST(PlannerTest, ChainsFanOutAndUnionIntoOneTaskAtParallelismOne) {
  auto plan = PlanJob(FanOutUnionKeyed(1), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->groups.size(), 1u);
  EXPECT_EQ(plan->groups[0].operator_ids,
            (std::vector<std::string>{"src", "f", "fp", "mp", "fa", "ma", "u", "p", "out"}));
  EXPECT_EQ(plan->groups[0].display,
            "events -> no bids -> persons -> person rows | auctions -> auction rows -> union -> "
            "join -> results");
  EXPECT_TRUE(plan->edges.empty());
  EXPECT_EQ(plan->tasks.size(), 1u);
}

// At parallelism 2 the FORWARD fan-out and the union still chain (each subtask's branches meet
// in the same subtask); the keyBy stays an exchange.
TEST(PlannerTest, ChainsForwardFanOutAndUnionAtHigherParallelism) {
  auto plan = PlanJob(FanOutUnionKeyed(2), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Displays(*plan),
            (std::vector<std::string>{
                "events -> no bids -> persons -> person rows | auctions -> auction rows -> union",
                "join -> results"}));
  ASSERT_EQ(plan->edges.size(), 1u);
  EXPECT_EQ(plan->edges[0].partitioning, proto::HASH);
  EXPECT_EQ(plan->tasks.size(), 4u);
}

// A q8-like job: two keyed branches of one source meet in a window join.
proto::JobSpec FanOutJoin(uint32_t parallelism) {
  auto spec = SpecBuilder("j")
                  .Op("src", "events", "source.generator")
                  .Op("fp", "persons", "filter", "", kFn)
                  .Op("fa", "auctions", "filter", "", kFn)
                  .Op("j", "join", "window_join", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("src", "fp")
                  .Edge("src", "fa")
                  .Edge("fp", "j", proto::HASH)
                  .Edge("fa", "j", proto::HASH)
                  .Edge("j", "out")
                  .Parallelism(parallelism)
                  .Build();
  spec.mutable_edges(3)->set_input(1);
  return spec;
}

TEST(PlannerTest, ChainsBothInputsOfAJoinFromOneTaskAtParallelismOne) {
  auto plan = PlanJob(FanOutJoin(1), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Displays(*plan),
            (std::vector<std::string>{"events -> persons | auctions -> join -> results"}));
  EXPECT_TRUE(plan->edges.empty());
  // At parallelism 2 the join's inputs are exchanges, and so the fan-out before them stays one
  // too (a task has one output): the plan is the linear one.
  plan = PlanJob(FanOutJoin(2), kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Displays(*plan),
            (std::vector<std::string>{"events", "persons", "auctions", "join -> results"}));
  ASSERT_EQ(plan->edges.size(), 4u);
  EXPECT_EQ(plan->edges[3].input, 1u);
}

// A branch whose timestamps may go idle keeps its exchange: the join behind it then leaves an
// idle input out of its watermark, which inside one task it could not.
TEST(PlannerTest, KeepsTheLinearPlanWhereABranchMayGoIdle) {
  auto spec = FanOutJoin(1);
  auto* ts = spec.add_operators();
  ts->set_id("ts");
  ts->set_name("times");
  ts->set_kind("assign_timestamps");
  ts->set_config_json(R"({"idleTimeout":1000})");
  (*ts->mutable_functions())["fn"] = "(r) => r.t";
  spec.mutable_edges(1)->set_to("ts");  // src -> ts -> fa
  auto* edge = spec.add_edges();
  edge->set_from("ts");
  edge->set_to("fa");
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Displays(*plan),
            (std::vector<std::string>{"events", "persons", "times -> auctions",
                                      "join -> results"}));
  (*spec.mutable_operators(spec.operators_size() - 1)->mutable_config_json()) = "{}";
  plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->groups.size(), 1u);
}

// Fan-in from different tasks stays an exchange: two sources are two tasks.
TEST(PlannerTest, KeepsAUnionOfTwoSourcesAsAnExchange) {
  auto spec = SpecBuilder("j")
                  .Op("s1", "one", "source.generator")
                  .Op("s2", "two", "source.generator")
                  .Op("u", "union", "union")
                  .Op("p", "count", "reduce", "", kFn)
                  .Op("out", "results", "sink.collect")
                  .Edge("s1", "u")
                  .Edge("s2", "u")
                  .Edge("u", "p", proto::HASH)
                  .Edge("p", "out")
                  .Build();
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Displays(*plan),
            (std::vector<std::string>{"one", "two", "union -> count -> results"}));
  EXPECT_EQ(plan->edges.size(), 2u);
}

// Branches that do not meet again are two outputs: a task has one, so the fan-out is exchanges.
TEST(PlannerTest, KeepsAFanOutToTwoSinksAsExchanges) {
  auto spec = SpecBuilder("j")
                  .Op("src", "events", "source.generator")
                  .Op("a", "a", "map", "", kFn)
                  .Op("b", "b", "map", "", kFn)
                  .Op("oa", "sink a", "sink.collect")
                  .Op("ob", "sink b", "sink.collect")
                  .Edge("src", "a")
                  .Edge("src", "b")
                  .Edge("a", "oa")
                  .Edge("b", "ob")
                  .Build();
  auto plan = PlanJob(spec, kJob);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(Displays(*plan), (std::vector<std::string>{"events", "a -> sink a", "b -> sink b"}));
}

TEST(PlannerTest, RefusesCyclicGraph) {
  auto spec = SpecBuilder("j")
                  .Op("a", "alpha", "map", "", kFn)
                  .Op("b", "beta", "map", "", kFn)
                  .Edge("a", "b")
                  .Edge("b", "a")
                  .Build();
  auto plan = PlanJob(spec, kJob);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInternal);
  EXPECT_NE(plan.status().message().find("cycle"), std::string::npos);
}

TEST(PlannerTest, RefusesDanglingEdge) {
  auto plan = PlanJob(LinearJob().Edge("op3", "ghost").Build(), kJob);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.status().message().find("ghost"), std::string::npos);
}

}  // namespace
}  // namespace sluice::coordinator
