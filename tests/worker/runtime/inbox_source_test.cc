#include <gtest/gtest.h>

#include "tests/worker/runtime/fake_chain.h"
#include "tests/worker/runtime/feed.h"
#include "worker/runtime/checkpointing.h"
#include "worker/runtime/exchange_io.h"

namespace sluice::runtime {
namespace {

using testing::FakeChain;

exchange::Batch Data(std::string text) {
  exchange::Batch batch;
  batch.data = std::move(text);
  return batch;
}

exchange::Batch Barrier(uint64_t checkpoint) {
  exchange::Batch batch;
  batch.barrier = checkpoint;
  return batch;
}

// Drives the source until the inbox has nothing more for now; returns the texts the chain got
// and the barriers handed out, in the order they happened ("x", "#1", ...).
std::vector<std::string> Drain(InboxSource& source, FakeChain& chain) {
  std::vector<std::string> seen;
  testing::Feed feed(chain);
  for (int i = 0; i < 20; ++i) {
    size_t before = chain.texts.size();
    auto result = feed.Next(source);
    EXPECT_TRUE(result.ok());
    if (!result.ok() || !result->has_value()) break;
    for (size_t t = before; t < chain.texts.size(); ++t) seen.push_back(chain.texts[t]);
    if (auto barrier = source.TakeBarrier()) seen.push_back("#" + std::to_string(*barrier));
  }
  return seen;
}

TEST(InboxSourceTest, AlignsBarriersHoldingBackChannelsThatDeliveredTheirs) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), /*align=*/true);
  FakeChain chain;
  ASSERT_TRUE(inbox->Push(0, Data("a1\n")));
  ASSERT_TRUE(inbox->Push(0, Barrier(1)));
  ASSERT_TRUE(inbox->Push(0, Data("a2\n")));  // after the barrier: waits for channel 1's
  ASSERT_TRUE(inbox->Push(1, Data("b1\n")));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"a1\n", "b1\n"}));
  ASSERT_TRUE(inbox->Push(1, Barrier(1)));
  ASSERT_TRUE(inbox->Push(1, Data("b2\n")));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"#1", "a2\n", "b2\n"}));
}

TEST(InboxSourceTest, AtLeastOnceCountsBarriersWithoutHoldingChannelsBack) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), /*align=*/false);
  FakeChain chain;
  ASSERT_TRUE(inbox->Push(0, Barrier(1)));
  ASSERT_TRUE(inbox->Push(0, Data("a2\n")));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"a2\n"}));
  ASSERT_TRUE(inbox->Push(1, Barrier(1)));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"#1"}));
}

TEST(InboxSourceTest, AnEndedChannelOwesNoBarrier) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5));
  FakeChain chain;
  inbox->EndChannel(1);
  ASSERT_TRUE(inbox->Push(0, Data("a1\n")));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"a1\n"}));
  ASSERT_TRUE(inbox->Push(0, Barrier(3)));
  ASSERT_TRUE(inbox->Push(0, Data("a2\n")));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"#3", "a2\n"}));
}

TEST(InboxSourceTest, ANewerBarrierReplacesOneThatWasGivenUp) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5));
  FakeChain chain;
  ASSERT_TRUE(inbox->Push(0, Barrier(1)));  // channel 1 never sends barrier 1
  ASSERT_TRUE(inbox->Push(0, Data("a1\n")));
  ASSERT_TRUE(inbox->Push(1, Data("b1\n")));
  ASSERT_TRUE(inbox->Push(1, Barrier(2)));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"b1\n", "a1\n"}));
  ASSERT_TRUE(inbox->Push(0, Barrier(2)));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"#2"}));
}

TEST(CheckpointingTest, RestoreSpecsPickSnapshotsByOperator) {
  proto::RestoreSpec restore;
  for (uint32_t s = 0; s < 3; ++s) {
    proto::TaskSnapshot* snapshot = restore.add_snapshots();
    snapshot->add_operator_ids("src");
    snapshot->add_operator_ids("sink");
    snapshot->set_subtask(s);
    snapshot->set_source_position("p" + std::to_string(s));
    snapshot->set_sink_state("s" + std::to_string(s));
  }
  EXPECT_EQ(SourcePositions(restore, "src"), (std::vector<std::string>{"p0", "p1", "p2"}));
  EXPECT_TRUE(SourcePositions(restore, "sink").empty());
  // 3 old sink subtasks into 2: new subtask 0 takes old 0 and 2.
  EXPECT_EQ(SinkStates(restore, "sink", 0, 2), (std::vector<std::string>{"s0", "s2"}));
  EXPECT_EQ(SinkStates(restore, "sink", 1, 2), (std::vector<std::string>{"s1"}));
}

// A keyed operator's state comes from every snapshot that names it: one of a task that held it
// with another keyed operator (keyed_operator_ids), or of one written before tasks could hold
// several (keyed_operator_id alone).
TEST(CheckpointingTest, KeyedSnapshotsFindAnOperatorInChainedAndOlderSnapshots) {
  proto::RestoreSpec restore;
  proto::TaskSnapshot* chained = restore.add_snapshots();
  chained->set_state_path("t0/state");
  chained->set_keyed_operator_id("w1");
  chained->add_keyed_operator_ids("w1");
  chained->add_keyed_operator_ids("w2");
  proto::TaskSnapshot* older = restore.add_snapshots();
  older->set_state_path("t1/state");
  older->set_keyed_operator_id("w2");
  proto::TaskSnapshot* stateless = restore.add_snapshots();
  stateless->add_operator_ids("src");
  EXPECT_EQ(KeyedOperatorsOf(*chained), (std::vector<std::string>{"w1", "w2"}));
  EXPECT_EQ(KeyedOperatorsOf(*older), (std::vector<std::string>{"w2"}));
  EXPECT_TRUE(KeyedOperatorsOf(*stateless).empty());
  EXPECT_EQ(KeyedSnapshots(restore, "w1"), (std::vector<const proto::TaskSnapshot*>{chained}));
  EXPECT_EQ(KeyedSnapshots(restore, "w2"),
            (std::vector<const proto::TaskSnapshot*>{chained, older}));
  EXPECT_TRUE(KeyedSnapshots(restore, "src").empty());
}

}  // namespace
}  // namespace sluice::runtime
