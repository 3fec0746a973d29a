// The etcd-backed job store against a real etcd server (Debian's etcd-server, installed by the
// deploy_deps fixture), started on free loopback ports by the test and killed after it: leader
// election and epochs, a standby waiting for the leader to go, fenced saves of a deposed leader,
// and records loaded back through etcd's pointers.
#include "coordinator/etcd_client.h"
#include "coordinator/etcd_job_store.h"
#include "tests/common/temp_dir.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace sluice::coordinator {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return -1;
  socklen_t length = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// One etcd server process for the whole suite, in its own data folder.
class EtcdServer {
 public:
  explicit EtcdServer(const std::string& dir) {
    const std::string client = "127.0.0.1:" + std::to_string(FreePort());
    const std::string peer = "http://127.0.0.1:" + std::to_string(FreePort());
    endpoint_ = client;
    std::vector<std::string> args = {"etcd",
                                     "--name", "sluice-unit",
                                     "--data-dir", dir + "/etcd",
                                     "--listen-client-urls", "http://" + client,
                                     "--advertise-client-urls", "http://" + client,
                                     "--listen-peer-urls", peer,
                                     "--initial-advertise-peer-urls", peer,
                                     "--initial-cluster", "sluice-unit=" + peer,
                                     "--log-level", "error"};
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execvp("etcd", argv.data());
      ::_exit(127);
    }
  }
  ~EtcdServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::string url() const { return "etcd://" + endpoint_; }
  // Waits until etcd answers a read; false after 30 s or when the process exited. Its port is
  // polled first: a gRPC call to a port nobody listens on yet waits out its whole deadline.
  bool WaitReady() {
    auto client = EtcdClient::Create(url());
    if (!client.ok()) return false;
    const auto deadline = std::chrono::steady_clock::now() + seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (Listening() && (*client)->Range("/probe").ok()) return true;
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

 private:
  bool Listening() const {
    const int port = std::stoi(endpoint_.substr(endpoint_.rfind(':') + 1));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return connected;
  }

  pid_t pid_ = -1;
  std::string endpoint_;
};

proto::StoredJob MakeJob(const std::string& id, const std::string& name) {
  proto::StoredJob job;
  job.mutable_spec()->set_name(name);
  job.mutable_spec()->add_operators()->set_id("source");
  job.mutable_info()->set_job_id(id);
  job.mutable_info()->set_name(name);
  job.mutable_info()->set_state(proto::JOB_RUNNING);
  return job;
}

class EtcdJobStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    temp_ = new sluice::testing::TempDir("sluice-etcd-store");
    etcd_ = new EtcdServer(temp_->str());
    ready_ = etcd_->WaitReady();
  }
  static void TearDownTestSuite() {
    delete etcd_;
    delete temp_;
  }
  void SetUp() override {
    ASSERT_TRUE(ready_) << "etcd did not start (is Debian's etcd-server installed? "
                           "scripts/install-deps.sh deploy)";
    // Each test its own key prefix and data dir, so they do not see each other's leaders.
    prefix_ = "/sluice-test-" + std::to_string(++counter_);
    data_dir_ = temp_->str() + "/data" + std::to_string(counter_);
    fs::create_directories(data_dir_);
  }

  std::unique_ptr<EtcdJobStore> Open() {
    auto client = EtcdClient::Create(etcd_->url());
    EXPECT_TRUE(client.ok()) << client.status().message();
    EtcdJobStore::Options options;
    options.data_dir = data_dir_;
    options.prefix = prefix_;
    options.poll = milliseconds(50);
    auto store = EtcdJobStore::Open(std::move(client).value(), options);
    EXPECT_TRUE(store.ok()) << store.status().message();
    return std::move(store).value();
  }

  // Deletes the leader key as etcd does when its holder's lease expires.
  void ExpireLeader() {
    auto client = EtcdClient::Create(etcd_->url());
    ASSERT_TRUE(client.ok());
    etcdserverpb::TxnRequest txn;
    txn.add_success()->mutable_request_delete_range()->set_key(prefix_ + "/leader");
    auto deleted = (*client)->Txn(txn);
    ASSERT_TRUE(deleted.ok()) << deleted.status().message();
  }

  static sluice::testing::TempDir* temp_;
  static EtcdServer* etcd_;
  static bool ready_;
  static int counter_;
  std::string prefix_;
  std::string data_dir_;
};

sluice::testing::TempDir* EtcdJobStoreTest::temp_ = nullptr;
EtcdServer* EtcdJobStoreTest::etcd_ = nullptr;
bool EtcdJobStoreTest::ready_ = false;
int EtcdJobStoreTest::counter_ = 0;

TEST_F(EtcdJobStoreTest, TheFirstIsLeaderAndAStandbyWaitsUntilItGoes) {
  auto leader = Open();
  auto epoch = leader->AcquireEpoch("127.0.0.1:7001");
  ASSERT_TRUE(epoch.ok()) << epoch.status().message();
  EXPECT_GT(*epoch, 0u);
  EXPECT_EQ(leader->LeaderHint(), "127.0.0.1:7001");

  auto standby = Open();
  EXPECT_EQ(standby->LeaderHint(), "127.0.0.1:7001");
  auto waiting = std::async(std::launch::async, [&] { return standby->AcquireEpoch("127.0.0.1:7002"); });
  EXPECT_EQ(waiting.wait_for(milliseconds(500)), std::future_status::timeout)
      << "a standby was elected while the leader held its lease";
  EXPECT_FALSE(standby->Save(MakeJob("job-1", "early")).ok()) << "a standby saves no job";

  leader.reset();  // revokes its lease: the key goes at once
  ASSERT_EQ(waiting.wait_for(seconds(10)), std::future_status::ready);
  auto next = waiting.get();
  ASSERT_TRUE(next.ok()) << next.status().message();
  EXPECT_GT(*next, *epoch) << "a later leader has a higher epoch";
}

TEST_F(EtcdJobStoreTest, SavedJobsLoadBackThroughTheirPointers) {
  auto leader = Open();
  ASSERT_TRUE(leader->AcquireEpoch("127.0.0.1:7001").ok());
  ASSERT_TRUE(leader->Save(MakeJob("job-1", "first")).ok());
  ASSERT_TRUE(leader->Save(MakeJob("job-2", "second")).ok());
  ASSERT_TRUE(leader->Save(MakeJob("job-1", "first, saved again")).ok());
  leader.reset();

  auto next = Open();
  ASSERT_TRUE(next->AcquireEpoch("127.0.0.1:7002").ok());
  auto loaded = next->LoadAll();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  ASSERT_EQ(loaded->jobs.size(), 2u);
  EXPECT_TRUE(loaded->skipped.empty());
  std::map<std::string, std::string> names;
  for (const auto& job : loaded->jobs) names[job.info().job_id()] = job.info().name();
  EXPECT_EQ(names["job-1"], "first, saved again");
  EXPECT_EQ(names["job-2"], "second");
  EXPECT_TRUE(next->Save(MakeJob("job-3", "third")).ok());
}

TEST_F(EtcdJobStoreTest, ADeposedLeaderCannotSaveAndLeavesNoRecordBehind) {
  auto old_leader = Open();
  auto old_epoch = old_leader->AcquireEpoch("127.0.0.1:7001");
  ASSERT_TRUE(old_epoch.ok());
  ASSERT_TRUE(old_leader->Save(MakeJob("job-1", "before")).ok());
  EXPECT_TRUE(old_leader->ConfirmLeader().ok());

  ExpireLeader();  // as if the old leader had been paused past its lease
  auto new_leader = Open();
  auto new_epoch = new_leader->AcquireEpoch("127.0.0.1:7002");
  ASSERT_TRUE(new_epoch.ok());
  ASSERT_GT(*new_epoch, *old_epoch);
  ASSERT_TRUE(new_leader->Save(MakeJob("job-1", "after")).ok());
  // Before it writes a checkpoint's _metadata, the old leader asks, and learns it was deposed.
  Status confirmed = old_leader->ConfirmLeader();
  ASSERT_FALSE(confirmed.ok());
  EXPECT_NE(confirmed.message().find("epoch " + std::to_string(*new_epoch) + " leads"), std::string::npos)
      << confirmed.message();
  EXPECT_TRUE(new_leader->ConfirmLeader().ok());

  Status late = old_leader->Save(MakeJob("job-1", "late, from the old leader"));
  EXPECT_FALSE(late.ok());
  EXPECT_NE(late.message().find("is no longer the leader"), std::string::npos) << late.message();
  EXPECT_TRUE(old_leader->Deposed());
  EXPECT_FALSE(new_leader->Deposed());
  // The new leader's record is what loads.
  auto loaded = new_leader->LoadAll();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->jobs.size(), 1u);
  EXPECT_EQ(loaded->jobs[0].info().name(), "after");
  // A job the deposed leader tries to add leaves no record, in etcd or on disk.
  EXPECT_FALSE(old_leader->Save(MakeJob("job-2", "new job, old leader")).ok());
  EXPECT_FALSE(fs::exists(fs::path(data_dir_) / "jobs" / ("job-2@" + std::to_string(*old_epoch) + ".json")));
  auto again = new_leader->LoadAll();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->jobs.size(), 1u) << "nothing the deposed leader saved is loaded";
}

TEST_F(EtcdJobStoreTest, AMalformedUrlIsRefusedNamingIt) {
  auto client = EtcdClient::Create("http://127.0.0.1:2379");
  ASSERT_FALSE(client.ok());
  EXPECT_NE(client.status().message().find("http://127.0.0.1:2379"), std::string::npos)
      << client.status().message();
}

}  // namespace
}  // namespace sluice::coordinator
