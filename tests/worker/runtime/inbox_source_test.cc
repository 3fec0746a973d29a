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

// Records with the sender's watermark after them.
exchange::Batch Data(std::string text, int64_t watermark) {
  exchange::Batch batch = Data(std::move(text));
  batch.watermark = watermark;
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

// The channels' batches, all queued before the task reads: channel 0 runs ahead of channel 1.
void QueueChannelZeroAhead(exchange::Inbox& inbox) {
  ASSERT_TRUE(inbox.Push(0, Data("a1\n", 1000)));
  ASSERT_TRUE(inbox.Push(1, Data("b1\n", 100)));
  ASSERT_TRUE(inbox.Push(0, Data("a2\n", 2000)));
  ASSERT_TRUE(inbox.Push(1, Data("b2\n", 500)));
  ASSERT_TRUE(inbox.Push(1, Data("b3\n", 1500)));
  ASSERT_TRUE(inbox.Push(1, Data("b4\n", 2500)));
}

TEST(InboxSourceTest, HoldsBackAChannelWhoseWatermarkRanAhead) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/0);
  FakeChain chain;
  QueueChannelZeroAhead(*inbox);
  // After b1 the task's watermark is 100 and channel 0 is at 1000: a2 waits until channel 1
  // passes 1000 (b3); then channel 0 is at 2000 against 1500 and waits again, with nothing left.
  EXPECT_EQ(Drain(source, chain),
            (std::vector<std::string>{"a1\n", "b1\n", "b2\n", "b3\n", "a2\n", "b4\n"}));
}

// Watermarks queued one behind the other, of any channel, move the chain's time on in one step.
TEST(InboxSourceTest, QueuedWatermarksGoToTheChainInOneStep) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/-1);
  FakeChain chain;
  exchange::Batch time;
  for (int64_t w : {100, 200}) {
    time.watermark = w;
    ASSERT_TRUE(inbox->Push(0, time));
    ASSERT_TRUE(inbox->Push(1, time));
    time.watermark = w + 50;
    ASSERT_TRUE(inbox->Push(1, time));  // folds into channel 1's last
  }
  ASSERT_TRUE(inbox->Push(0, Data("a\n", 300)));
  EXPECT_EQ(Drain(source, chain), (std::vector<std::string>{"a\n"}));
  EXPECT_EQ(chain.calls, (std::vector<std::string>{"advance", "text", "advance"}));
  EXPECT_EQ(chain.advances, (std::vector<std::optional<int64_t>>{200, 250}));
}

TEST(InboxSourceTest, ANegativeLeadKeepsArrivalOrder) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/-1);
  FakeChain chain;
  QueueChannelZeroAhead(*inbox);
  EXPECT_EQ(Drain(source, chain),
            (std::vector<std::string>{"a1\n", "b1\n", "a2\n", "b2\n", "b3\n", "b4\n"}));
}

TEST(InboxSourceTest, ALeadWithinTheBoundIsNotHeld) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/5000);
  FakeChain chain;
  QueueChannelZeroAhead(*inbox);
  EXPECT_EQ(Drain(source, chain),
            (std::vector<std::string>{"a1\n", "b1\n", "a2\n", "b2\n", "b3\n", "b4\n"}));
}

// A held channel may owe a checkpoint its barrier: aligning lets it go, or neither channel
// would move again (channel 1 blocked behind its barrier, channel 0 held).
TEST(InboxSourceTest, BarrierAlignmentLetsAHeldChannelGo) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/0);
  FakeChain chain;
  ASSERT_TRUE(inbox->Push(0, Data("a1\n", 1000)));
  ASSERT_TRUE(inbox->Push(1, Data("b1\n", 100)));
  ASSERT_TRUE(inbox->Push(0, Data("a2\n", 2000)));
  ASSERT_TRUE(inbox->Push(0, Barrier(1)));
  ASSERT_TRUE(inbox->Push(1, Barrier(1)));
  ASSERT_TRUE(inbox->Push(1, Data("b2\n", 200)));
  // Each call finds its batch at once: a call that waited for the backstop would be one more.
  testing::Feed feed(chain);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(feed.Next(source).ok());  // a1, b1, barrier + a2
  EXPECT_EQ(chain.texts, (std::vector<std::string>{"a1\n", "b1\n", "a2\n"}));
  ASSERT_TRUE(feed.Next(source).ok());  // channel 0's barrier
  EXPECT_EQ(source.TakeBarrier(), std::optional<uint64_t>(1));
  ASSERT_TRUE(feed.Next(source).ok());
  EXPECT_EQ(chain.texts, (std::vector<std::string>{"a1\n", "b1\n", "a2\n", "b2\n"}));
}

// Nothing else arriving within max_wait lets a held channel go (a sender that stopped sending
// watermarks must not stall the others for good), and nothing is held again until the task's
// watermark advances: one wait per advance, not one per batch.
TEST(InboxSourceTest, AHeldChannelGoesOnWhenNothingElseArrives) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/0);
  FakeChain chain;
  ASSERT_TRUE(inbox->Push(0, Data("a1\n", 1000)));
  ASSERT_TRUE(inbox->Push(1, Data("b1\n", 100)));
  ASSERT_TRUE(inbox->Push(0, Data("a2\n", 2000)));
  ASSERT_TRUE(inbox->Push(0, Data("a3\n", 3000)));
  testing::Feed feed(chain);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(feed.Next(source).ok());
  EXPECT_EQ(chain.texts, (std::vector<std::string>{"a1\n", "b1\n"}));
  ASSERT_TRUE(feed.Next(source).ok());  // channel 0 held: the wait times out, letting it go
  EXPECT_EQ(chain.texts.size(), 2u);
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(feed.Next(source).ok());
  EXPECT_EQ(chain.texts, (std::vector<std::string>{"a1\n", "b1\n", "a2\n", "a3\n"}));
  // Channel 1 moves the watermark to 2500: channel 0, at 3000, is held again.
  ASSERT_TRUE(inbox->Push(1, Data("b2\n", 2500)));
  ASSERT_TRUE(inbox->Push(0, Data("a4\n", 5000)));
  ASSERT_TRUE(inbox->Push(0, Data("a5\n", 6000)));
  ASSERT_TRUE(inbox->Push(1, Data("b3\n", 5500)));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(feed.Next(source).ok());
  EXPECT_EQ(chain.texts, (std::vector<std::string>{"a1\n", "b1\n", "a2\n", "a3\n", "b2\n",
                                                   "b3\n", "a4\n", "a5\n"}));
}

// A channel that goes idle stops counting towards the task's watermark: what it held back goes
// on at once, without waiting for the backstop.
TEST(InboxSourceTest, AChannelGoingIdleLetsTheHeldOnesGo) {
  auto inbox = std::make_shared<exchange::Inbox>(TaskId("t"), 2, 16);
  InboxSource source(inbox, {}, std::chrono::milliseconds(5), true, /*max_lead=*/0);
  FakeChain chain;
  ASSERT_TRUE(inbox->Push(0, Data("a1\n", 1000)));
  ASSERT_TRUE(inbox->Push(1, Data("b1\n", 100)));
  ASSERT_TRUE(inbox->Push(0, Data("a2\n", 2000)));
  exchange::Batch idle;
  idle.idle = true;
  ASSERT_TRUE(inbox->Push(1, std::move(idle)));
  testing::Feed feed(chain);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(feed.Next(source).ok());  // a1, b1, idle, a2
  EXPECT_EQ(chain.texts, (std::vector<std::string>{"a1\n", "b1\n", "a2\n"}));
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
