#include <gtest/gtest.h>

#include <future>

#include "tests/worker/exchange/test_util.h"
#include "worker/exchange/exchange.h"

namespace sluice::exchange {
namespace {

using namespace std::chrono_literals;
using testing::kSoon;
using testing::StaysBlocked;

TEST(RouterTest, FindsARegisteredInbox) {
  Router router;
  auto inbox = std::make_shared<Inbox>(TaskId("job-1/g1.0"), 1, 2);
  router.Register(inbox);
  Result<std::shared_ptr<Inbox>> found = router.Find(TaskId("job-1/g1.0"), 0ms);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->get(), inbox.get());
}

TEST(RouterTest, FindWaitsForALateRegister) {
  Router router;
  auto find = std::async(std::launch::async, [&] { return router.Find(TaskId("late"), 60s); });
  EXPECT_TRUE(StaysBlocked(find));
  router.Register(std::make_shared<Inbox>(TaskId("other"), 1, 2));
  EXPECT_TRUE(StaysBlocked(find, 50ms));
  auto inbox = std::make_shared<Inbox>(TaskId("late"), 1, 2);
  router.Register(inbox);
  ASSERT_EQ(find.wait_for(kSoon), std::future_status::ready);
  Result<std::shared_ptr<Inbox>> found = find.get();
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->get(), inbox.get());
}

TEST(RouterTest, FindTimesOutWithNotFoundNamingTheTask) {
  Router router;
  auto start = std::chrono::steady_clock::now();
  Result<std::shared_ptr<Inbox>> found = router.Find(TaskId("job-1/g1.0"), 100ms);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  ASSERT_FALSE(found.ok());
  EXPECT_EQ(found.status().code(), StatusCode::kNotFound);
  EXPECT_NE(found.status().message().find("job-1/g1.0"), std::string::npos)
      << found.status().message();
}

TEST(RouterTest, UnregisteredTaskIsNotFound) {
  Router router;
  router.Register(std::make_shared<Inbox>(TaskId("t"), 1, 2));
  router.Unregister(TaskId("t"));
  EXPECT_EQ(router.Find(TaskId("t"), 0ms).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace sluice::exchange
