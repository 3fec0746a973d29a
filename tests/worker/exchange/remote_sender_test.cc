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

// A worker's receiving side in this process: a router, the service on a real gRPC server on
// 127.0.0.1, and one receiving task's inbox.
class RemoteSenderTest : public ::testing::Test {
 protected:
  void TearDown() override { StopServer(); }

  void StartWorker(ExchangeServiceOptions options, uint32_t channels, size_t capacity) {
    inbox_ = std::make_shared<Inbox>(task_, channels, capacity);
    router_.Register(inbox_);
    service_ = std::make_unique<ExchangeServiceImpl>(router_, options);
    Result<StartedServer> server = StartServer("127.0.0.1:0", {service_.get()}, "worker");
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
  }

  void StopServer() {
    if (server_.server == nullptr) return;
    service_->Shutdown();
    server_.server->Shutdown();
    server_.server.reset();
  }

  std::unique_ptr<Sender> Connect(uint32_t channel) {
    Result<std::unique_ptr<Sender>> sender = ConnectRemote(peers_, server_.address, task_, channel);
    EXPECT_TRUE(sender.ok()) << sender.status().ToString();
    return sender.ok() ? std::move(*sender) : nullptr;
  }

  // Pops until the inbox ends, on its own thread.
  std::future<std::vector<Batch>> Consume() {
    return std::async(std::launch::async, [inbox = inbox_] {
      std::vector<Batch> popped;
      while (std::optional<Batch> batch = PopBatch(*inbox)) popped.push_back(std::move(*batch));
      return popped;
    });
  }

  // Sends `n` batches on its own thread, bumping `progress` after each accepted one.
  std::future<Status> SendInBackground(Sender& sender, int n, Progress& progress) {
    return std::async(std::launch::async, [&sender, n, &progress] {
      for (int i = 0; i < n; ++i) {
        Status status = sender.Send(MakeBatch("batch " + std::to_string(i)));
        if (!status.ok()) return status;
        progress.Bump();
      }
      return sender.Finish();
    });
  }

  TaskId task_{"job-1/g1.0"};
  PeerConnections peers_;  // the sending worker's connections
  Router router_;
  std::shared_ptr<Inbox> inbox_;
  std::unique_ptr<ExchangeServiceImpl> service_;  // outlives the server
  StartedServer server_;
};

// Batches whose bytes differ from one to the next, zero bytes included.
std::string Payload(int i) {
  std::string data(static_cast<size_t>(i * 37 % 5000), '\0');
  for (size_t j = 0; j < data.size(); ++j) data[j] = static_cast<char>((i * 131 + j) % 256);
  return data;
}

TEST_F(RemoteSenderTest, DeliversEveryBatchInOrderWithItsBytes) {
  StartWorker({}, 1, 4);
  auto popped = Consume();
  std::unique_ptr<Sender> sender = Connect(0);
  uint64_t bytes = 0;
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(sender->Send(MakeBatch(Payload(i), i)).ok());
    bytes += Payload(i).size();
  }
  Status finished = sender->Finish();
  ASSERT_TRUE(finished.ok()) << finished.ToString();
  EXPECT_EQ(sender->bytes_sent(), bytes);

  ASSERT_EQ(popped.wait_for(kSoon), std::future_status::ready);
  std::vector<Batch> batches = popped.get();
  ASSERT_EQ(batches.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(batches[i].data, Payload(i)) << "batch " << i;
    EXPECT_EQ(batches[i].records, static_cast<uint64_t>(i));
  }
}

TEST_F(RemoteSenderTest, InboxEndsWhenEveryRemoteChannelFinished) {
  StartWorker({}, 2, 4);
  std::unique_ptr<Sender> a = Connect(0);
  std::unique_ptr<Sender> b = Connect(1);
  ASSERT_TRUE(a->Send(MakeBatch("a")).ok());
  ASSERT_TRUE(a->Finish().ok());
  EXPECT_EQ(PopBatch(*inbox_)->data, "a");
  auto end = std::async(std::launch::async, [&] { return PopBatch(*inbox_); });
  EXPECT_TRUE(StaysBlocked(end));  // channel 1 is still open
  ASSERT_TRUE(b->Finish().ok());
  ASSERT_EQ(end.wait_for(kSoon), std::future_status::ready);
  EXPECT_FALSE(end.get().has_value());
}

TEST_F(RemoteSenderTest, SlowReceiverBlocksTheSenderAfterCapacityPlusCredits) {
  ExchangeServiceOptions options;
  options.initial_credits = 2;
  StartWorker(options, 1, 2);
  std::unique_ptr<Sender> sender = Connect(0);
  Progress sent;
  auto sending = SendInBackground(*sender, 20, sent);

  // Two batches fill the inbox's room, two more ride on the initial credits (queued beyond the
  // room, their credits owed); then no credit comes back.
  ASSERT_TRUE(sent.WaitFor(4, kSoon));
  EXPECT_FALSE(sent.WaitFor(5, kStaysBlocked));
  EXPECT_EQ(sent.count(), 4);
  EXPECT_EQ(inbox_->queued(), 4u);

  // Each pop makes room for one batch, which returns one credit: one more batch goes out.
  EXPECT_EQ(PopBatch(*inbox_)->data, "batch 0");
  ASSERT_TRUE(sent.WaitFor(5, kSoon));
  EXPECT_FALSE(sent.WaitFor(6, kStaysBlocked));
  EXPECT_EQ(sent.count(), 5);

  auto popped = Consume();
  ASSERT_EQ(sending.wait_for(kSoon), std::future_status::ready);
  Status status = sending.get();
  EXPECT_TRUE(status.ok()) << status.ToString();
  ASSERT_EQ(popped.wait_for(kSoon), std::future_status::ready);
  std::vector<Batch> rest = popped.get();
  ASSERT_EQ(rest.size(), 19u);
  for (int i = 0; i < 19; ++i) EXPECT_EQ(rest[i].data, "batch " + std::to_string(i + 1));
  EXPECT_GT(inbox_->blocked_time().count(), 0);
}

TEST_F(RemoteSenderTest, CancelWakesASendWaitingForCredit) {
  ExchangeServiceOptions options;
  options.initial_credits = 2;
  StartWorker(options, 1, 2);
  std::unique_ptr<Sender> sender = Connect(0);
  Progress sent;
  auto sending = SendInBackground(*sender, 20, sent);
  ASSERT_TRUE(sent.WaitFor(4, kSoon));
  EXPECT_TRUE(StaysBlocked(sending));

  sender->Cancel();
  ASSERT_EQ(sending.wait_for(kSoon), std::future_status::ready);
  EXPECT_EQ(sending.get().code(), StatusCode::kCancelled);
  EXPECT_EQ(sender->Send(MakeBatch("after")).code(), StatusCode::kCancelled);
  sender.reset();
  StopServer();
  EXPECT_EQ(service_->open_streams(), 0u);
}

TEST_F(RemoteSenderTest, MissingReceiverFailsWithNotFoundNamingTheTask) {
  ExchangeServiceOptions options;
  options.receiver_wait = 200ms;
  StartWorker(options, 1, 2);
  Result<std::unique_ptr<Sender>> sender =
      ConnectRemote(peers_, server_.address, TaskId("job-1/nope.3"), 0);
  ASSERT_TRUE(sender.ok());
  Status status = (*sender)->Send(MakeBatch("x"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kNotFound);
  EXPECT_NE(status.message().find("job-1/nope.3"), std::string::npos) << status.message();
  EXPECT_NE(status.message().find(server_.address), std::string::npos) << status.message();
  // Every later call reports the same failure.
  EXPECT_EQ((*sender)->Finish().code(), StatusCode::kNotFound);
}

TEST_F(RemoteSenderTest, UnknownChannelIsRefused) {
  StartWorker({}, 2, 2);
  std::unique_ptr<Sender> sender = Connect(2);
  Status status = sender->Send(MakeBatch("x"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("channel 2 does not exist"), std::string::npos)
      << status.message();
}

TEST_F(RemoteSenderTest, ClosedReceiverFailsTheSender) {
  StartWorker({}, 1, 2);
  std::unique_ptr<Sender> sender = Connect(0);
  ASSERT_TRUE(sender->Send(MakeBatch("1")).ok());
  inbox_->Close();
  Status status;
  for (int i = 0; i < 10 && status.ok(); ++i) status = sender->Send(MakeBatch("more"));
  if (status.ok()) status = sender->Finish();
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("receiving task job-1/g1.0 is gone"), std::string::npos)
      << status.message();
}

TEST_F(RemoteSenderTest, ServerGoneFailsSendAndFinishInsteadOfHanging) {
  StartWorker({}, 1, 2);
  auto popped = Consume();
  std::unique_ptr<Sender> sender = Connect(0);
  ASSERT_TRUE(sender->Send(MakeBatch("1")).ok());
  std::string address = server_.address;
  StopServer();

  Status status;
  for (int i = 0; i < 10 && status.ok(); ++i) status = sender->Send(MakeBatch("more"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("cannot reach worker " + address + " for task job-1/g1.0"),
            std::string::npos)
      << status.message();
  EXPECT_FALSE(sender->Finish().ok());
  inbox_->Close();
}

TEST_F(RemoteSenderTest, NoServerAtTheAddressFailsWithCannotReach) {
  StartWorker({}, 1, 2);
  std::string address = server_.address;
  StopServer();  // nothing listens there now
  Result<std::unique_ptr<Sender>> sender = ConnectRemote(peers_, address, task_, 0);
  ASSERT_TRUE(sender.ok());
  Status status = (*sender)->Send(MakeBatch("x"));
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("cannot reach worker " + address + " for task job-1/g1.0"),
            std::string::npos)
      << status.message();
}

}  // namespace
}  // namespace sluice::exchange
