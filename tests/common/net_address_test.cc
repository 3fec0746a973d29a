#include "common/net_address.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace sluice {
namespace {

TEST(NetAddressTest, TellsLoopbackAndWildcardFromRoutableAddresses) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.4.5"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("10.77.0.2"));
  EXPECT_FALSE(IsLoopbackHost("128.0.0.1"));
  EXPECT_TRUE(IsWildcardHost("0.0.0.0"));
  EXPECT_TRUE(IsWildcardHost("[::]"));
  EXPECT_FALSE(IsReachableFromOtherHosts("127.0.0.1:7071"));
  EXPECT_FALSE(IsReachableFromOtherHosts("0.0.0.0:7071"));
  EXPECT_FALSE(IsReachableFromOtherHosts("[::1]:7071"));
  EXPECT_TRUE(IsReachableFromOtherHosts("10.77.0.2:7071"));
  EXPECT_TRUE(IsReachableFromOtherHosts("worker-1:7071"));
}

TEST(NetAddressTest, HostOfSplitsIpv4NamesAndBracketedIpv6) {
  EXPECT_EQ(HostOf("10.0.0.1:7070"), "10.0.0.1");
  EXPECT_EQ(HostOf("[fd00::1]:7070"), "fd00::1");
  EXPECT_EQ(HostOf("coordinator"), "coordinator");
}

TEST(NetAddressTest, ConcreteListenAddressIsAdvertisedAsIs) {
  EXPECT_EQ(*AdvertisedAddress("10.77.0.2:41000", ""), "10.77.0.2:41000");
  EXPECT_EQ(*AdvertisedAddress("127.0.0.1:41000", ""), "127.0.0.1:41000");
}

TEST(NetAddressTest, WildcardListenAdvertisesPodIpWhenSet) {
  setenv("POD_IP", "10.1.2.3", 1);
  EXPECT_EQ(*AdvertisedAddress("0.0.0.0:7071", ""), "10.1.2.3:7071");
  unsetenv("POD_IP");
  // Without it, some address of this host that is not loopback (or its name).
  auto derived = AdvertisedAddress("0.0.0.0:7071", "");
  ASSERT_TRUE(derived.ok());
  EXPECT_NE(HostOf(*derived), "0.0.0.0");
}

TEST(NetAddressTest, AdvertiseFlagWinsAndTakesTheBoundPortWhenItHasNone) {
  EXPECT_EQ(*AdvertisedAddress("0.0.0.0:41000", "worker-1.example"), "worker-1.example:41000");
  EXPECT_EQ(*AdvertisedAddress("0.0.0.0:41000", "10.0.0.5:7071"), "10.0.0.5:7071");
  EXPECT_EQ(*AdvertisedAddress("0.0.0.0:41000", "fd00::5"), "[fd00::5]:41000");
}

TEST(NetAddressTest, RejectsAnAdvertiseThatIsNotHostPort) {
  for (const char* bad : {"0.0.0.0", ":7071", "host:notaport", "host:70000"}) {
    auto advertised = AdvertisedAddress("0.0.0.0:41000", bad);
    ASSERT_FALSE(advertised.ok()) << bad;
    EXPECT_NE(advertised.status().message().find("--advertise"), std::string::npos);
  }
}

}  // namespace
}  // namespace sluice
