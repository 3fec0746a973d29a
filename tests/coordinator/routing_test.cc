#include "coordinator/routing.h"

#include <gtest/gtest.h>

namespace sluice::coordinator {
namespace {

// source (p=2) --HASH--> reduce (p=3) --FORWARD--> sink (p=1), groups in topological order.
ExecutionPlan ThreeGroups() {
  ExecutionPlan plan;
  plan.groups = {{0, {"src"}, "src", 2}, {1, {"sum"}, "sum", 3}, {2, {"out"}, "out", 1}};
  plan.edges = {{0, 1, proto::HASH, 0, "(r) => r.k", ""}, {1, 2, proto::FORWARD, 0, "", ""}};
  JobId job("j");
  for (const TaskGroup& group : plan.groups) {
    for (uint32_t s = 0; s < group.parallelism; ++s) {
      plan.tasks.push_back({MakeTaskId(job, group.index, s), group.index, s});
    }
  }
  return plan;
}

TEST(RoutingTest, NumbersInputChannelsPerUpstreamSubtaskAndRoutesToEveryTarget) {
  ExecutionPlan plan = ThreeGroups();
  std::map<TaskId, std::string> address_of;
  for (const PlannedTask& task : plan.tasks) {
    address_of[task.id] = "w" + std::to_string(task.subtask % 2);
  }
  auto routes = PlanRoutes(plan, address_of);

  const TaskRoutes& src1 = routes.at(TaskId("j/g0.1"));
  EXPECT_EQ(src1.input_channels, 0u);
  ASSERT_EQ(src1.outputs.size(), 1u);
  EXPECT_EQ(src1.outputs[0].partitioning(), proto::HASH);
  EXPECT_EQ(src1.outputs[0].key_fn(), "(r) => r.k");
  EXPECT_EQ(src1.outputs[0].channel(), 1u);
  // Targets in compact form: "j/g1." + subtask, each worker address once.
  const proto::OutputRoute& hashed = src1.outputs[0];
  EXPECT_EQ(hashed.target_task_ids_size(), 0);
  ASSERT_EQ(hashed.target_count(), 3u);
  EXPECT_EQ(hashed.target_prefix(), "j/g1.");
  EXPECT_EQ(hashed.target_suffix(), "");
  ASSERT_EQ(hashed.worker_addresses_size(), 2);
  ASSERT_EQ(hashed.target_worker_size(), 3);
  EXPECT_EQ(hashed.worker_addresses(static_cast<int>(hashed.target_worker(1))), "w1");
  EXPECT_EQ(hashed.worker_addresses(static_cast<int>(hashed.target_worker(2))), "w0");
  EXPECT_EQ(hashed.target_worker(0), hashed.target_worker(2));

  const TaskRoutes& sum2 = routes.at(TaskId("j/g1.2"));
  EXPECT_EQ(sum2.input_channels, 2u);
  EXPECT_EQ(sum2.input_key_fn, "(r) => r.k");
  ASSERT_EQ(sum2.outputs.size(), 1u);
  // FORWARD from parallelism 3 to 1 becomes REBALANCE; the sink hears it on channel 2.
  EXPECT_EQ(sum2.outputs[0].partitioning(), proto::REBALANCE);
  EXPECT_EQ(sum2.outputs[0].channel(), 2u);

  const TaskRoutes& out = routes.at(TaskId("j/g2.0"));
  EXPECT_EQ(out.input_channels, 3u);
  EXPECT_TRUE(out.input_key_fn.empty());
  EXPECT_TRUE(out.outputs.empty());
}

TEST(RoutingTest, FanInNumbersChannelsEdgeAfterEdge) {
  ExecutionPlan plan;
  plan.groups = {{0, {"a"}, "a", 2}, {1, {"b"}, "b", 1}, {2, {"u"}, "u", 2}};
  plan.edges = {{0, 2, proto::FORWARD, 0, "", ""}, {1, 2, proto::REBALANCE, 0, "", ""}};
  JobId job("j");
  for (const TaskGroup& group : plan.groups) {
    for (uint32_t s = 0; s < group.parallelism; ++s) {
      plan.tasks.push_back({MakeTaskId(job, group.index, s), group.index, s});
    }
  }
  auto routes = PlanRoutes(plan, {});
  EXPECT_EQ(routes.at(TaskId("j/g2.1")).input_channels, 3u);
  EXPECT_EQ(routes.at(TaskId("j/g0.1")).outputs[0].channel(), 1u);
  EXPECT_EQ(routes.at(TaskId("j/g0.1")).outputs[0].partitioning(), proto::FORWARD);
  EXPECT_EQ(routes.at(TaskId("j/g1.0")).outputs[0].channel(), 2u);
}

TEST(RoutingTest, AnExchangeWithACombinerTellsBothSides) {
  ExecutionPlan plan = ThreeGroups();
  auto routes = PlanRoutes(plan, {});
  EXPECT_FALSE(routes.at(TaskId("j/g0.0")).outputs[0].combine());
  EXPECT_FALSE(routes.at(TaskId("j/g1.0")).combined_input);
  plan.edges[0].combiner = "sum";
  routes = PlanRoutes(plan, {});
  for (const char* source : {"j/g0.0", "j/g0.1"}) {
    EXPECT_TRUE(routes.at(TaskId(source)).outputs[0].combine()) << source;
  }
  for (const char* sum : {"j/g1.0", "j/g1.1", "j/g1.2"}) {
    EXPECT_TRUE(routes.at(TaskId(sum)).combined_input) << sum;
    EXPECT_FALSE(routes.at(TaskId(sum)).outputs[0].combine()) << sum;
  }
  EXPECT_FALSE(routes.at(TaskId("j/g2.0")).combined_input);
}

}  // namespace
}  // namespace sluice::coordinator
