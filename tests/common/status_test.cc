#include "common/status.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

Result<int> Half(int n) {
  if (n % 2 != 0) return Status::User("odd number " + std::to_string(n));
  return n / 2;
}

TEST(StatusTest, OkStatusHasNoDomain) {
  Status st = Status::Ok();
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(st.domain(), ErrorDomain::kNone);
}

TEST(StatusTest, ErrorsCarryDomainAndRetryHint) {
  Status user = Status::User("bad");
  EXPECT_EQ(user.domain(), ErrorDomain::kUser);
  EXPECT_FALSE(user.retryable());
  Status down = Status::Unavailable("redis down");
  EXPECT_EQ(down.domain(), ErrorDomain::kExternal);
  EXPECT_TRUE(down.retryable());
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  Result<int> good = Half(4);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 2);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "odd number 3");
}

}  // namespace
}  // namespace sluice
