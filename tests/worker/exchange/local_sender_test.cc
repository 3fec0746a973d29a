#include <gtest/gtest.h>

#include <future>

#include "tests/worker/exchange/test_util.h"
#include "worker/exchange/exchange.h"

namespace sluice::exchange {
namespace {

using testing::kSoon;
using testing::MakeBatch;
using testing::PopBatch;
using testing::StaysBlocked;

class LocalSenderTest : public ::testing::Test {
 protected:
  std::unique_ptr<Sender> Connect(uint32_t channel) {
    Result<std::unique_ptr<Sender>> sender = ConnectLocal(router_, task_, channel);
    EXPECT_TRUE(sender.ok()) << sender.status().ToString();
    return sender.ok() ? std::move(*sender) : nullptr;
  }

  TaskId task_{"job-1/g1.0"};
  std::shared_ptr<Inbox> inbox_ = std::make_shared<Inbox>(task_, 2, 4);  // 2 a channel
  Router router_;
  void SetUp() override { router_.Register(inbox_); }
};

TEST_F(LocalSenderTest, DeliversBatchesAndEndsItsChannel) {
  std::unique_ptr<Sender> a = Connect(0);
  std::unique_ptr<Sender> b = Connect(1);
  ASSERT_TRUE(a->Send(MakeBatch("hello", 2)).ok());
  ASSERT_TRUE(a->Finish().ok());
  EXPECT_EQ(a->bytes_sent(), 5u);
  std::optional<Batch> batch = PopBatch(*inbox_);
  ASSERT_TRUE(batch.has_value());
  EXPECT_EQ(batch->data, "hello");
  EXPECT_EQ(batch->records, 2u);

  ASSERT_TRUE(b->Send(MakeBatch("world")).ok());
  ASSERT_TRUE(b->Finish().ok());
  EXPECT_EQ(PopBatch(*inbox_)->data, "world");
  EXPECT_FALSE(PopBatch(*inbox_).has_value());
}

TEST_F(LocalSenderTest, SendBlocksWhileTheInboxIsFull) {
  std::unique_ptr<Sender> sender = Connect(0);
  ASSERT_TRUE(sender->Send(MakeBatch("1")).ok());
  ASSERT_TRUE(sender->Send(MakeBatch("2")).ok());
  auto third = std::async(std::launch::async, [&] { return sender->Send(MakeBatch("3")); });
  EXPECT_TRUE(StaysBlocked(third));
  EXPECT_EQ(PopBatch(*inbox_)->data, "1");
  ASSERT_EQ(third.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(third.get().ok());
}

TEST_F(LocalSenderTest, CancelWakesABlockedSend) {
  std::unique_ptr<Sender> sender = Connect(0);
  ASSERT_TRUE(sender->Send(MakeBatch("1")).ok());
  ASSERT_TRUE(sender->Send(MakeBatch("2")).ok());
  auto third = std::async(std::launch::async, [&] { return sender->Send(MakeBatch("3")); });
  EXPECT_TRUE(StaysBlocked(third));
  sender->Cancel();
  ASSERT_EQ(third.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(third.get().code(), StatusCode::kCancelled);
  EXPECT_EQ(inbox_->queued(), 2u);
}

TEST_F(LocalSenderTest, SendToAClosedInboxSaysTheReceiverIsGone) {
  std::unique_ptr<Sender> sender = Connect(0);
  inbox_->Close();
  Status status = sender->Send(MakeBatch("1"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "receiving task job-1/g1.0 is gone");
}

TEST_F(LocalSenderTest, ConnectWaitsForALateReceiver) {
  auto sender = std::async(std::launch::async,
                           [&] { return ConnectLocal(router_, TaskId("job-1/nope.0"), 0); });
  EXPECT_TRUE(StaysBlocked(sender));
  router_.Register(std::make_shared<Inbox>(TaskId("job-1/nope.0"), 1, 1));
  ASSERT_EQ(sender.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(sender.get().ok());
}

TEST_F(LocalSenderTest, ConnectToAChannelTheTaskDoesNotHaveFails) {
  Result<std::unique_ptr<Sender>> sender = ConnectLocal(router_, task_, 2);
  ASSERT_FALSE(sender.ok());
  EXPECT_NE(sender.status().message().find("job-1/g1.0"), std::string::npos);
}

}  // namespace
}  // namespace sluice::exchange
