#include <gtest/gtest.h>

#include <future>
#include <stop_token>
#include <thread>

#include "tests/worker/exchange/test_util.h"
#include "worker/exchange/exchange.h"

namespace sluice::exchange {
namespace {

using testing::kSoon;
using testing::kStaysBlocked;
using testing::MakeBatch;
using testing::PopBatch;
using testing::StaysBlocked;

TEST(InboxTest, KeepsEachChannelsOrder) {
  Inbox inbox(TaskId("t"), 2, 16);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a1")));
  ASSERT_TRUE(inbox.Push(1, MakeBatch("b1")));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a2")));
  ASSERT_TRUE(inbox.Push(1, MakeBatch("b2")));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a3", 7)));
  EXPECT_EQ(inbox.queued(), 5u);
  std::vector<std::string> a, b;
  for (int i = 0; i < 5; ++i) {
    std::optional<Batch> batch = PopBatch(inbox);
    ASSERT_TRUE(batch.has_value());
    (batch->data[0] == 'a' ? a : b).push_back(batch->data);
    if (batch->data == "a3") {
      EXPECT_EQ(batch->records, 7u);
    }
  }
  EXPECT_EQ(a, (std::vector<std::string>{"a1", "a2", "a3"}));
  EXPECT_EQ(b, (std::vector<std::string>{"b1", "b2"}));
  EXPECT_EQ(inbox.queued(), 0u);
}

Batch TimeBatch(int64_t watermark) {
  Batch batch;
  batch.watermark = watermark;
  return batch;
}

// A batch that only moves time on folds into its channel's last queued batch when that one only
// moves time on too: the reader gets the latest watermark once, in the channel's order, and
// batches with records, idleness or a barrier are never folded into or over.
TEST(InboxTest, TimeOnlyBatchesFoldIntoTheChannelsLastOne) {
  Inbox inbox(TaskId("t"), 2, 16);
  ASSERT_TRUE(inbox.Push(0, TimeBatch(10)));
  ASSERT_TRUE(inbox.Push(1, TimeBatch(5)));
  ASSERT_TRUE(inbox.Push(0, TimeBatch(20)));  // folds into 10 across channel 1's batch
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a1")));
  ASSERT_TRUE(inbox.Push(0, TimeBatch(30)));  // after records: a batch of its own
  Batch idle = TimeBatch(35);
  idle.idle = true;
  ASSERT_TRUE(inbox.Push(0, std::move(idle)));
  ASSERT_TRUE(inbox.Push(0, TimeBatch(40)));  // after idleness: a batch of its own
  Batch barrier;
  barrier.barrier = 3;
  ASSERT_TRUE(inbox.Push(0, std::move(barrier)));
  ASSERT_TRUE(inbox.Push(0, TimeBatch(50)));  // after a barrier: a batch of its own
  ASSERT_TRUE(inbox.Push(0, TimeBatch(60)));  // folds into 50
  EXPECT_EQ(inbox.queued(), 8u);
  std::vector<std::string> seen;
  while (inbox.queued() > 0) {
    std::optional<Batch> batch = PopBatch(inbox);
    ASSERT_TRUE(batch.has_value());
    std::string what = std::to_string(batch->channel) + ":" + batch->data;
    if (batch->watermark.has_value()) what += "@" + std::to_string(*batch->watermark);
    if (batch->idle) what += " idle";
    if (batch->barrier != 0) what += " barrier";
    seen.push_back(what);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0:@20", "1:@5", "0:a1", "0:@30", "0:@35 idle",
                                            "0:@40", "0: barrier", "0:@60"}));
}

// A reader that waits without a deadline (or one far off) is woken by a time-only batch; one
// that looks again within 50 ms anyway need not be (InboxSource's), and finds it then.
TEST(InboxTest, TimeOnlyBatchesWakeAReaderThatWouldWaitLong) {
  Inbox inbox(TaskId("t"), 1, 16);
  auto popped = std::async(std::launch::async, [&] { return PopBatch(inbox); });
  EXPECT_TRUE(StaysBlocked(popped));
  ASSERT_TRUE(inbox.Push(0, TimeBatch(7)));
  ASSERT_EQ(popped.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(popped.get()->watermark, 7);

  auto next = std::async(std::launch::async, [&] {
    return inbox.Next(std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
  });
  ASSERT_TRUE(inbox.Push(0, TimeBatch(8)));
  ASSERT_EQ(next.wait_for(kSoon), std::future_status::ready);
  InboxItem item = next.get();
  if (item.kind == InboxItem::Kind::kTimeout) {  // it looked before the push
    item = inbox.Next(std::chrono::steady_clock::now());
  }
  ASSERT_EQ(item.kind, InboxItem::Kind::kBatch);
  EXPECT_EQ(item.batch.watermark, 8);
}

// TakeTimeOnly takes what Next() would hand out only while that moves time on alone: the
// reader folds a run of watermarks into one step and leaves records, ends and blocked
// channels to Next().
TEST(InboxTest, TakeTimeOnlyTakesWatermarksAtTheFrontOnly) {
  Inbox inbox(TaskId("t"), 3, 16);
  EXPECT_FALSE(inbox.TakeTimeOnly().has_value());
  ASSERT_TRUE(inbox.Push(0, TimeBatch(5)));
  ASSERT_TRUE(inbox.Push(1, TimeBatch(3)));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("x")));
  ASSERT_TRUE(inbox.Push(1, TimeBatch(4)));  // folds into channel 1's 3
  std::optional<Batch> first = inbox.TakeTimeOnly();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->channel, 0u);
  EXPECT_EQ(first->watermark, 5);
  std::optional<Batch> second = inbox.TakeTimeOnly();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->channel, 1u);
  EXPECT_EQ(second->watermark, 4);
  EXPECT_FALSE(inbox.TakeTimeOnly().has_value());  // records in front: Next's
  EXPECT_EQ(PopBatch(inbox)->data, "x");
  ASSERT_TRUE(inbox.Push(1, TimeBatch(6)));
  inbox.Block(1);
  EXPECT_FALSE(inbox.TakeTimeOnly().has_value());  // channel 1's watermark is held back
  inbox.Unblock(1);
  std::optional<Batch> third = inbox.TakeTimeOnly();
  ASSERT_TRUE(third.has_value());
  EXPECT_EQ(third->watermark, 6);
  inbox.EndChannel(2);
  ASSERT_TRUE(inbox.Push(0, TimeBatch(9)));
  EXPECT_FALSE(inbox.TakeTimeOnly().has_value());  // an end in front
  EXPECT_EQ(inbox.queued(), 1u);
}

TEST(InboxTest, PushBlocksWhileFullAndResumesAfterPop) {
  Inbox inbox(TaskId("t"), 1, 2);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("1")));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("2")));
  auto third = std::async(std::launch::async, [&] { return inbox.Push(0, MakeBatch("3")); });
  EXPECT_TRUE(StaysBlocked(third));
  EXPECT_EQ(inbox.queued(), 2u);

  EXPECT_EQ(PopBatch(inbox)->data, "1");
  ASSERT_EQ(third.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(third.get());
  EXPECT_EQ(PopBatch(inbox)->data, "2");
  EXPECT_EQ(PopBatch(inbox)->data, "3");
  EXPECT_GT(inbox.blocked_time().count(), 0);
  EXPECT_EQ(inbox.capacity(), 2u);
}

TEST(InboxTest, PopWaitsUntilEveryChannelEnded) {
  Inbox inbox(TaskId("t"), 3, 4);
  ASSERT_TRUE(inbox.Push(2, MakeBatch("x")));
  inbox.EndChannel(0);
  inbox.EndChannel(2);
  inbox.EndChannel(2);  // twice is once
  EXPECT_EQ(PopBatch(inbox)->data, "x");

  auto last = std::async(std::launch::async, [&] { return PopBatch(inbox); });
  EXPECT_TRUE(StaysBlocked(last));  // channel 1 is still open
  ASSERT_TRUE(inbox.Push(1, MakeBatch("y")));
  ASSERT_EQ(last.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(last.get()->data, "y");

  auto end = std::async(std::launch::async, [&] { return PopBatch(inbox); });
  EXPECT_TRUE(StaysBlocked(end));
  inbox.EndChannel(1);
  ASSERT_EQ(end.wait_for(kSoon), std::future_status::ready);
  EXPECT_FALSE(end.get().has_value());
  EXPECT_FALSE(PopBatch(inbox).has_value());
}

TEST(InboxTest, QueuedBatchesArePoppedBeforeTheEnd) {
  Inbox inbox(TaskId("t"), 1, 4);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("1")));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("2")));
  inbox.EndChannel(0);
  EXPECT_EQ(PopBatch(inbox)->data, "1");
  EXPECT_EQ(PopBatch(inbox)->data, "2");
  EXPECT_FALSE(PopBatch(inbox).has_value());
}

TEST(InboxTest, CloseWakesBlockedPushAndPop) {
  Inbox full(TaskId("full"), 1, 1);
  ASSERT_TRUE(full.Push(0, MakeBatch("1")));
  auto push = std::async(std::launch::async, [&] { return full.Push(0, MakeBatch("2")); });
  Inbox empty(TaskId("empty"), 1, 1);
  auto pop = std::async(std::launch::async, [&] { return PopBatch(empty); });
  EXPECT_TRUE(StaysBlocked(push));
  EXPECT_TRUE(StaysBlocked(pop));

  full.Close();
  empty.Close();
  ASSERT_EQ(push.wait_for(kSoon), std::future_status::ready);
  ASSERT_EQ(pop.wait_for(kSoon), std::future_status::ready);
  EXPECT_FALSE(push.get());
  EXPECT_FALSE(pop.get().has_value());
  EXPECT_FALSE(full.Push(0, MakeBatch("3")));
  EXPECT_FALSE(PopBatch(full).has_value());
}

TEST(InboxTest, StopTokenInterruptsABlockedPush) {
  Inbox inbox(TaskId("t"), 1, 1);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("1")));
  std::stop_source stop;
  auto push = std::async(std::launch::async,
                         [&] { return inbox.Push(0, MakeBatch("2"), stop.get_token()); });
  EXPECT_TRUE(StaysBlocked(push));
  stop.request_stop();
  ASSERT_EQ(push.wait_for(kSoon), std::future_status::ready);
  EXPECT_FALSE(push.get());
  EXPECT_EQ(inbox.queued(), 1u);  // the interrupted batch was not taken
  // The inbox itself still works.
  EXPECT_EQ(PopBatch(inbox)->data, "1");
  EXPECT_TRUE(inbox.Push(0, MakeBatch("3")));
}

TEST(InboxTest, UnblockLetsOneChannelGoAndKeepsTheOthersBlocked) {
  Inbox inbox(TaskId("t"), 2, 8);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a")));
  ASSERT_TRUE(inbox.Push(1, MakeBatch("b")));
  inbox.Block(0);
  inbox.Block(1);
  const auto soon = std::chrono::steady_clock::now() + std::chrono::milliseconds(5);
  EXPECT_EQ(inbox.Next(soon).kind, InboxItem::Kind::kTimeout);
  inbox.Unblock(1);
  EXPECT_EQ(PopBatch(inbox)->data, "b");
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + std::chrono::milliseconds(5)).kind,
            InboxItem::Kind::kTimeout);
  inbox.Unblock(0);
  EXPECT_EQ(PopBatch(inbox)->data, "a");
}

TEST(InboxTest, ManyPushersAndOnePopperLoseNothing) {
  constexpr int kChannels = 4;
  constexpr int kPerChannel = 500;
  Inbox inbox(TaskId("t"), kChannels, 3);
  std::vector<std::thread> pushers;
  for (int c = 0; c < kChannels; ++c) {
    pushers.emplace_back([&, c] {
      for (int i = 0; i < kPerChannel; ++i) {
        ASSERT_TRUE(inbox.Push(c, MakeBatch(std::to_string(c) + ":" + std::to_string(i))));
      }
      inbox.EndChannel(c);
    });
  }
  std::vector<int> next(kChannels, 0);
  int total = 0;
  while (std::optional<Batch> batch = PopBatch(inbox)) {
    size_t colon = batch->data.find(':');
    int c = std::stoi(batch->data.substr(0, colon));
    EXPECT_EQ(std::stoi(batch->data.substr(colon + 1)), next[c]++);
    EXPECT_LE(inbox.queued(), inbox.capacity());  // 1 a channel
    ++total;
  }
  for (std::thread& t : pushers) t.join();
  EXPECT_EQ(total, kChannels * kPerChannel);
}

TEST(InboxTest, ABlockedChannelIsHeldBackWhileTheOthersFlow) {
  Inbox inbox(TaskId("t"), 2, 8);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a1")));
  ASSERT_TRUE(inbox.Push(1, MakeBatch("b1")));
  inbox.Block(0);
  InboxItem item = inbox.Next(std::chrono::steady_clock::now() + kSoon);
  ASSERT_EQ(item.kind, InboxItem::Kind::kBatch);
  EXPECT_EQ(item.batch.data, "b1");
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a2")));
  inbox.EndChannel(0);
  // Only channel 0 has something, and it is blocked: its batches and its end wait.
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kStaysBlocked).kind,
            InboxItem::Kind::kTimeout);
  inbox.UnblockAll();
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kSoon).batch.data, "a1");
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kSoon).batch.data, "a2");
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kSoon).kind,
            InboxItem::Kind::kChannelEnd);
}

TEST(InboxTest, AFullBlockedChannelLeavesRoomForTheOthers) {
  Inbox inbox(TaskId("t"), 2, 4);  // 2 batches a channel
  EXPECT_EQ(inbox.capacity(), 4u);
  inbox.Block(0);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a1")));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a2")));
  auto third = std::async(std::launch::async, [&] { return inbox.Push(0, MakeBatch("a3")); });
  EXPECT_TRUE(StaysBlocked(third));
  ASSERT_TRUE(inbox.Push(1, MakeBatch("b1")));
  ASSERT_TRUE(inbox.Push(1, MakeBatch("b2")));
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kSoon).batch.data, "b1");
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kSoon).batch.data, "b2");
  inbox.UnblockAll();
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kSoon).batch.data, "a1");
  ASSERT_EQ(third.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(third.get());
}

TEST(InboxTest, RoomIsInBytesSharedFairlyBetweenTasksAndChannels) {
  constexpr size_t kOverhead = InboxBudget::kBatchOverhead;
  // 40 KB for the worker, at most 16 KB a task.
  auto budget = std::make_shared<InboxBudget>(40000, 16000);
  EXPECT_EQ(budget->task_share(), 16000u);
  auto first = std::make_unique<Inbox>(TaskId("t1"), 2, budget);  // 8000 bytes a channel
  EXPECT_EQ(first->capacity_bytes(), 16000u);
  // Small batches: as many as fit in 8000 bytes, whatever their number.
  const std::string small(1000 - kOverhead, 's');
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(first->Push(0, MakeBatch(small)));
  auto ninth = std::async(std::launch::async, [&] { return first->Push(0, MakeBatch(small)); });
  EXPECT_TRUE(StaysBlocked(ninth));
  // The other channel has its own room; one batch larger than the room still goes in when the
  // channel holds nothing (a channel never stalls), and then the channel is full.
  ASSERT_TRUE(first->Push(1, MakeBatch(std::string(50000, 'L'))));
  auto after_large = std::async(std::launch::async, [&] { return first->Push(1, MakeBatch("x")); });
  EXPECT_TRUE(StaysBlocked(after_large));
  EXPECT_EQ(first->queued_bytes(), 8 * small.size() + 50000);

  // More tasks on the worker: each one's share shrinks to 40000 / 3.
  auto second = std::make_unique<Inbox>(TaskId("t2"), 1, budget);
  auto third = std::make_unique<Inbox>(TaskId("t3"), 1, budget);
  EXPECT_EQ(budget->task_share(), 40000u / 3);
  EXPECT_EQ(second->capacity_bytes(), 40000u / 3);
  third.reset();
  second.reset();
  EXPECT_EQ(budget->task_share(), 16000u);

  EXPECT_EQ(PopBatch(*first)->data, small);
  ASSERT_EQ(ninth.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(ninth.get());
  first->Close();
  ASSERT_EQ(after_large.wait_for(kSoon), std::future_status::ready);
  EXPECT_FALSE(after_large.get());
}

TEST(InboxTest, OfferTakesEveryBatchAndHandsOutRoomInOrder) {
  Inbox inbox(TaskId("t"), 1, 2);  // 2 batches of room
  std::vector<int> roomed;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(inbox.Offer(0, MakeBatch(std::to_string(i)), [&roomed, i] { roomed.push_back(i); }));
  }
  // All four are queued (nothing dropped), but only the first two had room.
  EXPECT_EQ(inbox.queued(), 4u);
  EXPECT_EQ(roomed, (std::vector<int>{0, 1}));
  EXPECT_EQ(PopBatch(inbox)->data, "0");
  EXPECT_EQ(roomed, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(PopBatch(inbox)->data, "1");
  EXPECT_EQ(roomed, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(PopBatch(inbox)->data, "2");
  EXPECT_EQ(PopBatch(inbox)->data, "3");
  // After Close, Offer takes nothing; callbacks still waiting run (their senders learn of it).
  ASSERT_TRUE(inbox.Offer(0, MakeBatch("a"), [] {}));
  ASSERT_TRUE(inbox.Offer(0, MakeBatch("b"), [] {}));
  bool woken = false;
  ASSERT_TRUE(inbox.Offer(0, MakeBatch("c"), [&] { woken = true; }));
  EXPECT_FALSE(woken);
  inbox.Close();
  EXPECT_TRUE(woken);
  EXPECT_FALSE(inbox.Offer(0, MakeBatch("d"), [] {}));
}

TEST(InboxTest, AHeldChannelHasASixteenthOfTheRoomUntilLetGo) {
  Inbox inbox(TaskId("t"), 2, 64);  // 32 batches a channel, 2 while held
  inbox.Hold(0);
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a1")));
  ASSERT_TRUE(inbox.Push(0, MakeBatch("a2")));
  auto third = std::async(std::launch::async, [&] { return inbox.Push(0, MakeBatch("a3")); });
  EXPECT_TRUE(StaysBlocked(third));
  // Held back like a blocked channel; the other channel keeps its whole room and flows.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(inbox.Push(1, MakeBatch("b")));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(PopBatch(inbox)->data, "b");
  EXPECT_EQ(inbox.Next(std::chrono::steady_clock::now() + kStaysBlocked).kind,
            InboxItem::Kind::kTimeout);
  // Let go: the whole room again, so the waiting push goes in before anything is popped.
  inbox.Unblock(0);
  ASSERT_EQ(third.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(third.get());
  // An offered batch beyond a held channel's room is admitted when the channel is let go.
  inbox.Hold(0);
  int roomed = 0;
  ASSERT_TRUE(inbox.Offer(0, MakeBatch("a4"), [&] { ++roomed; }));
  EXPECT_EQ(roomed, 0);
  inbox.UnblockAll();
  EXPECT_EQ(roomed, 1);
  for (const char* want : {"a1", "a2", "a3", "a4"}) EXPECT_EQ(PopBatch(inbox)->data, want);
}

}  // namespace
}  // namespace sluice::exchange
