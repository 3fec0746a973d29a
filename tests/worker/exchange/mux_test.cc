// Several channels on one multiplexed connection: they share one stream, yet each keeps its
// own credits, its own end and its own failure.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "common/grpc_util.h"
#include "tests/worker/exchange/test_util.h"
#include "worker/exchange/exchange.h"
#include "worker/exchange/exchange_service.h"

namespace sluice::exchange {
namespace {

using namespace std::chrono_literals;
using testing::kSoon;
using testing::kStaysBlocked;
using testing::MakeBatch;
using testing::PopBatch;
using testing::Progress;
using testing::StaysBlocked;

// A receiving worker (router, service, real gRPC server on 127.0.0.1) and a sending worker's
// connections, in one process.
class MuxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ExchangeServiceOptions options;
    options.initial_credits = 2;
    options.receiver_wait = 2s;
    service_ = std::make_unique<ExchangeServiceImpl>(router_, options);
    Result<StartedServer> server = StartServer("127.0.0.1:0", {service_.get()}, "worker");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }
  void TearDown() override {
    peers_.Shutdown();
    service_->Shutdown();
    server_.server->Shutdown();
  }

  std::shared_ptr<Inbox> AddTask(const std::string& id, uint32_t channels, size_t capacity) {
    auto inbox = std::make_shared<Inbox>(TaskId(id), channels, capacity);
    router_.Register(inbox);
    return inbox;
  }
  std::unique_ptr<Sender> Connect(const std::string& task, uint32_t channel) {
    Result<std::unique_ptr<Sender>> sender =
        ConnectRemote(peers_, server_.address, TaskId(task), channel);
    EXPECT_TRUE(sender.ok()) << sender.status().ToString();
    return sender.ok() ? std::move(*sender) : nullptr;
  }
  // Sends `n` batches named `prefix i` and finishes, on its own thread.
  static std::future<Status> SendAll(Sender& sender, const std::string& prefix, int n,
                                     Progress* progress = nullptr) {
    return std::async(std::launch::async, [&sender, prefix, n, progress] {
      for (int i = 0; i < n; ++i) {
        Status status = sender.Send(MakeBatch(prefix + std::to_string(i)));
        if (!status.ok()) return status;
        if (progress != nullptr) progress->Bump();
      }
      return sender.Finish();
    });
  }
  static std::future<std::vector<std::string>> Consume(std::shared_ptr<Inbox> inbox) {
    return std::async(std::launch::async, [inbox] {
      std::vector<std::string> popped;
      while (std::optional<Batch> batch = PopBatch(*inbox)) popped.push_back(batch->data);
      return popped;
    });
  }
  static std::vector<std::string> Named(const std::string& prefix, int n) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.push_back(prefix + std::to_string(i));
    return names;
  }

  PeerConnections peers_;
  Router router_;
  std::unique_ptr<ExchangeServiceImpl> service_;
  StartedServer server_;
};

TEST_F(MuxTest, ChannelsToSeveralTasksShareOneStreamAndKeepTheirOrder) {
  auto a = AddTask("job-1/a.0", 2, 4);
  auto b = AddTask("job-1/b.0", 1, 4);
  auto popped_a = Consume(a);
  auto popped_b = Consume(b);
  std::unique_ptr<Sender> a0 = Connect("job-1/a.0", 0);
  std::unique_ptr<Sender> a1 = Connect("job-1/a.0", 1);
  std::unique_ptr<Sender> b0 = Connect("job-1/b.0", 0);
  auto s1 = SendAll(*a0, "a0-", 300);
  auto s2 = SendAll(*a1, "a1-", 300);
  auto s3 = SendAll(*b0, "b0-", 300);
  for (auto* s : {&s1, &s2, &s3}) {
    ASSERT_EQ(s->wait_for(kSoon), std::future_status::ready);
    Status status = s->get();
    EXPECT_TRUE(status.ok()) << status.ToString();
  }
  EXPECT_EQ(service_->open_streams(), 1u);
  EXPECT_EQ(peers_.open(), 1u);

  ASSERT_EQ(popped_a.wait_for(kSoon), std::future_status::ready);
  std::vector<std::string> from0, from1;
  for (const std::string& name : popped_a.get()) (name[1] == '0' ? from0 : from1).push_back(name);
  EXPECT_EQ(from0, Named("a0-", 300));
  EXPECT_EQ(from1, Named("a1-", 300));
  ASSERT_EQ(popped_b.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(popped_b.get(), Named("b0-", 300));
}

TEST_F(MuxTest, AFullReceiverHoldsUpOnlyItsOwnChannel) {
  auto slow = AddTask("job-1/slow.0", 1, 2);  // nobody pops it (yet)
  auto fast = AddTask("job-1/fast.0", 1, 2);
  std::unique_ptr<Sender> to_slow = Connect("job-1/slow.0", 0);
  std::unique_ptr<Sender> to_fast = Connect("job-1/fast.0", 0);
  Progress slow_sent;
  auto slow_sending = SendAll(*to_slow, "s", 50, &slow_sent);
  // The room (2) and the initial credits (2); then the slow channel's sender waits for credit.
  ASSERT_TRUE(slow_sent.WaitFor(4, kSoon));
  EXPECT_FALSE(slow_sent.WaitFor(5, kStaysBlocked));
  EXPECT_TRUE(StaysBlocked(slow_sending));

  // Meanwhile the other channel on the same stream moves 500 batches and finishes.
  auto fast_popped = Consume(fast);
  auto fast_sending = SendAll(*to_fast, "f", 500);
  ASSERT_EQ(fast_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(fast_sending.get().ok());
  ASSERT_EQ(fast_popped.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(fast_popped.get(), Named("f", 500));
  EXPECT_EQ(slow_sent.count(), 4);  // still held up
  EXPECT_EQ(slow->queued(), 4u);    // nothing dropped, nothing more taken

  // Once the slow task pops, its channel goes on and ends; every batch arrives once.
  auto slow_popped = Consume(slow);
  ASSERT_EQ(slow_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(slow_sending.get().ok());
  ASSERT_EQ(slow_popped.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(slow_popped.get(), Named("s", 50));
  EXPECT_GT(slow->blocked_time().count(), 0);
  EXPECT_EQ(service_->open_streams(), 1u);
}

TEST_F(MuxTest, AFailingChannelLeavesTheOthersOnTheStream) {
  auto good = AddTask("job-1/good.0", 1, 4);
  auto doomed = AddTask("job-1/doomed.0", 1, 4);
  auto good_popped = Consume(good);
  std::unique_ptr<Sender> to_good = Connect("job-1/good.0", 0);
  std::unique_ptr<Sender> to_doomed = Connect("job-1/doomed.0", 0);
  std::unique_ptr<Sender> to_missing = Connect("job-1/missing.0", 0);
  std::unique_ptr<Sender> to_no_channel = Connect("job-1/good.0", 7);
  ASSERT_TRUE(to_good->Send(MakeBatch("g-before")).ok());

  // The receiving task goes away: its channel fails, naming it.
  ASSERT_TRUE(to_doomed->Send(MakeBatch("d")).ok());
  doomed->Close();
  Status gone;
  for (int i = 0; i < 10 && gone.ok(); ++i) gone = to_doomed->Send(MakeBatch("d more"));
  if (gone.ok()) gone = to_doomed->Finish();
  EXPECT_EQ(gone.code(), StatusCode::kFailedPrecondition) << gone.ToString();
  EXPECT_NE(gone.message().find("receiving task job-1/doomed.0 is gone"), std::string::npos)
      << gone.message();
  // A task that never comes, and a channel its task does not have.
  Status missing = to_missing->Send(MakeBatch("m"));
  EXPECT_EQ(missing.code(), StatusCode::kNotFound) << missing.ToString();
  EXPECT_NE(missing.message().find("job-1/missing.0"), std::string::npos) << missing.message();
  Status no_channel = to_no_channel->Send(MakeBatch("x"));
  EXPECT_NE(no_channel.message().find("channel 7 does not exist"), std::string::npos)
      << no_channel.message();

  // The good channel, on the same stream, goes on to its end.
  auto good_sending = SendAll(*to_good, "g", 100);
  ASSERT_EQ(good_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(good_sending.get().ok());
  ASSERT_EQ(good_popped.wait_for(kSoon), std::future_status::ready);
  std::vector<std::string> expected = {"g-before"};
  for (const std::string& name : Named("g", 100)) expected.push_back(name);
  EXPECT_EQ(good_popped.get(), expected);
  EXPECT_EQ(service_->open_streams(), 1u);
  EXPECT_EQ(peers_.open(), 1u);
}

TEST_F(MuxTest, CancellingOneChannelLeavesTheOthers) {
  auto stuck = AddTask("job-1/stuck.0", 1, 1);  // nobody pops it
  auto other = AddTask("job-1/other.0", 1, 4);
  std::unique_ptr<Sender> to_stuck = Connect("job-1/stuck.0", 0);
  std::unique_ptr<Sender> to_other = Connect("job-1/other.0", 0);
  Progress sent;
  auto stuck_sending = SendAll(*to_stuck, "s", 20, &sent);
  ASSERT_TRUE(sent.WaitFor(3, kSoon));
  EXPECT_TRUE(StaysBlocked(stuck_sending));
  to_stuck->Cancel();
  ASSERT_EQ(stuck_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(stuck_sending.get().code(), StatusCode::kCancelled);
  to_stuck.reset();

  auto popped = Consume(other);
  auto other_sending = SendAll(*to_other, "o", 100);
  ASSERT_EQ(other_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(other_sending.get().ok());
  ASSERT_EQ(popped.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(popped.get(), Named("o", 100));
  // The cancelled channel did not end its receiver's input.
  InboxItem item = stuck->Next(std::chrono::steady_clock::now() + kStaysBlocked);
  while (item.kind == InboxItem::Kind::kBatch) {
    item = stuck->Next(std::chrono::steady_clock::now() + kStaysBlocked);
  }
  EXPECT_EQ(item.kind, InboxItem::Kind::kTimeout);
}

TEST_F(MuxTest, AReceiverDeployedLateIsWaitedForWithoutHoldingUpTheStream) {
  auto early = AddTask("job-1/early.0", 1, 4);
  auto early_popped = Consume(early);
  std::unique_ptr<Sender> to_late = Connect("job-1/late.0", 0);
  std::unique_ptr<Sender> to_early = Connect("job-1/early.0", 0);
  Progress late_sent;
  auto late_sending = SendAll(*to_late, "l", 10, &late_sent);
  // The early task's channel flows while the late one waits for its task.
  auto early_sending = SendAll(*to_early, "e", 100);
  ASSERT_EQ(early_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(early_sending.get().ok());
  ASSERT_EQ(early_popped.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(early_popped.get(), Named("e", 100));
  EXPECT_EQ(late_sent.count(), 0);

  auto late = AddTask("job-1/late.0", 1, 4);
  auto late_popped = Consume(late);
  ASSERT_EQ(late_sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_TRUE(late_sending.get().ok());
  ASSERT_EQ(late_popped.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(late_popped.get(), Named("l", 10));
}

TEST_F(MuxTest, AStreamCutMidChannelDoesNotEndTheInputAndFailsItsSenders) {
  auto inbox = AddTask("job-1/cut.0", 2, 64);
  std::unique_ptr<Sender> first = Connect("job-1/cut.0", 0);
  std::unique_ptr<Sender> second = Connect("job-1/cut.0", 1);
  ASSERT_TRUE(first->Send(MakeBatch(std::string(300000, 'a'))).ok());
  ASSERT_TRUE(second->Send(MakeBatch("b")).ok());
  ASSERT_TRUE(second->Finish().ok());  // one channel ended before the cut
  ASSERT_TRUE(first->Send(MakeBatch(std::string(300000, 'c'))).ok());
  peers_.Shutdown();  // cuts the stream, possibly mid-message

  Status status;
  for (int i = 0; i < 10 && status.ok(); ++i) status = first->Send(MakeBatch("more"));
  EXPECT_EQ(status.code(), StatusCode::kUnavailable) << status.ToString();
  EXPECT_NE(status.message().find("cannot reach worker " + server_.address + " for task job-1/cut.0"),
            std::string::npos)
      << status.message();
  EXPECT_FALSE(first->Finish().ok());
  // Whatever arrived is in the inbox; channel 0 never ends, so the input never completes.
  bool ended0 = false;
  while (true) {
    InboxItem item = inbox->Next(std::chrono::steady_clock::now() + kStaysBlocked);
    if (item.kind == InboxItem::Kind::kTimeout) break;
    ASSERT_NE(item.kind, InboxItem::Kind::kDone);
    if (item.kind == InboxItem::Kind::kChannelEnd && item.channel == 0) ended0 = true;
  }
  EXPECT_FALSE(ended0);
  for (int i = 0; i < 100 && service_->open_streams() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(service_->open_streams(), 0u);
}

}  // namespace
}  // namespace sluice::exchange
