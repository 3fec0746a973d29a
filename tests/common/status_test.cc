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

TEST(StatusTest, WithContextKeepsCodeDomainAndWhetherARetryCanHelp) {
  const Status flaky = Status::External("connection reset", /*retryable=*/true);
  const Status named = flaky.WithContext("operator 'out' (op4): mysql db:3306");
  EXPECT_EQ(named.message(), "operator 'out' (op4): mysql db:3306: connection reset");
  EXPECT_EQ(named.code(), flaky.code());
  EXPECT_EQ(named.domain(), ErrorDomain::kExternal);
  EXPECT_TRUE(named.retryable());
  EXPECT_FALSE(Status::User("bad").WithContext("x").retryable());
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
  EXPECT_EQ(Status::Ok().WithContext("x").message(), "");
}

}  // namespace
}  // namespace sluice
