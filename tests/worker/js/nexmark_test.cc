#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/worker/js/test_util.h"
#include "worker/js/js_engine.h"

namespace sluice::js {
namespace {

using nlohmann::json;
using testing::Chain;
using testing::Lines;
using testing::Stage;

// Beam's id rules, restated independently of nexmark.js.
int64_t LastBase0PersonId(int64_t n) { return n / 50; }
int64_t LastBase0AuctionId(int64_t n) {
  int64_t epoch = n / 50;
  int64_t offset = n % 50;
  if (offset < 1) {
    --epoch;
    offset = 2;
  } else if (offset >= 4) {
    offset = 2;
  } else {
    offset -= 1;
  }
  return epoch * 3 + offset;
}

std::vector<json> Events(int64_t first, int64_t stride, int32_t count,
                         const std::string &config = "") {
  Result<std::unique_ptr<ChainRunner>> runner =
      V8Engine().Create(Chain({Stage("op1", "nexmark", "source.nexmark", "", config)}), {});
  EXPECT_TRUE(runner.ok()) << runner.status().message();
  if (!runner.ok()) return {};
  Result<BatchResult> batch = (*runner)->RunGenerated(first, stride, count);
  EXPECT_TRUE(batch.ok()) << batch.status().message();
  if (!batch.ok()) return {};
  std::vector<json> events;
  for (const std::string &line : Lines(batch->json_lines)) events.push_back(json::parse(line));
  return events;
}

TEST(NexmarkTest, ProportionsArePersonAuctionBid1To3To46) {
  std::vector<json> events = Events(0, 1, 50000);
  ASSERT_EQ(events.size(), 50000u);
  std::map<std::string, int> counts;
  for (size_t n = 0; n < events.size(); ++n) {
    const std::string type = events[n]["type"];
    ++counts[type];
    const int64_t rem = static_cast<int64_t>(n) % 50;
    EXPECT_EQ(type, rem < 1 ? "person" : rem < 4 ? "auction" : "bid") << "event " << n;
  }
  EXPECT_EQ(counts["person"], 1000);
  EXPECT_EQ(counts["auction"], 3000);
  EXPECT_EQ(counts["bid"], 46000);
}

TEST(NexmarkTest, SameEventsEveryTime) {
  auto generate = [] {
    auto runner = V8Engine().Create(Chain({Stage("op1", "n", "source.nexmark")}), {});
    EXPECT_TRUE(runner.ok());
    std::string all;
    for (int b = 0; b < 3; ++b) all += (*runner)->RunGenerated(1000 + b * 500, 1, 500)->json_lines;
    return all;
  };
  const std::string once = generate();
  EXPECT_EQ(once, generate());
  std::set<std::string> distinct_bids;
  for (const std::string &line : Lines(once)) {
    json event = json::parse(line);
    if (event["type"] == "bid") {
      event.erase("dateTime");
      distinct_bids.insert(event.dump());
    }
  }
  EXPECT_GT(distinct_bids.size(), 1000u) << "bids should vary from event to event";
}

TEST(NexmarkTest, RecordsHaveTheNexmarkShapes) {
  std::vector<json> events = Events(0, 1, 5);
  ASSERT_EQ(events.size(), 5u);
  auto keys = [](const json &object) {
    std::vector<std::string> names;
    for (auto it = object.begin(); it != object.end(); ++it) names.push_back(it.key());
    std::sort(names.begin(), names.end());
    return names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(keys(events[0]), (Names{"city", "creditCard", "dateTime", "emailAddress", "extra", "id",
                                    "name", "state", "type"}));
  EXPECT_EQ(keys(events[1]), (Names{"category", "dateTime", "description", "expires", "extra", "id",
                                    "initialBid", "itemName", "reserve", "seller", "type"}));
  EXPECT_EQ(keys(events[4]),
            (Names{"auction", "bidder", "channel", "dateTime", "extra", "price", "type", "url"}));
  EXPECT_EQ(events[4]["extra"], "");
  EXPECT_TRUE(events[0]["creditCard"].get<std::string>().size() == 19u);
}

TEST(NexmarkTest, IdsAndTimestampsFollowTheEventNumber) {
  const int64_t kFirst = 200000;
  std::vector<json> events = Events(kFirst, 1, 10000);
  ASSERT_EQ(events.size(), 10000u);
  int hot_auction_bids = 0;
  int bids = 0;
  for (size_t k = 0; k < events.size(); ++k) {
    const int64_t n = kFirst + static_cast<int64_t>(k);
    const json &e = events[k];
    // baseTime 1700000000000 and 10000 events per second: 0.1 ms per event.
    EXPECT_EQ(e["dateTime"].get<int64_t>(), 1700000000000 + n / 10) << n;
    const int64_t last_person = LastBase0PersonId(n);
    const int64_t last_auction = LastBase0AuctionId(n);
    const int64_t people = last_person + 1;
    const int64_t active = std::min<int64_t>(people, 1000);
    if (e["type"] == "person") {
      EXPECT_EQ(e["id"].get<int64_t>(), 1000 + n / 50);
    } else if (e["type"] == "auction") {
      EXPECT_EQ(e["id"].get<int64_t>(), 1000 + (n / 50) * 3 + (n % 50) - 1);
      const int64_t category = e["category"];
      EXPECT_TRUE(category >= 10 && category < 15) << category;
      const int64_t seller = e["seller"].get<int64_t>() - 1000;
      EXPECT_TRUE(seller == last_person / 100 * 100 ||
                  (seller >= people - active && seller < people + 10))
          << seller;
      EXPECT_GT(e["expires"].get<int64_t>(), e["dateTime"].get<int64_t>());
      EXPECT_GE(e["reserve"].get<int64_t>(), e["initialBid"].get<int64_t>());
    } else {
      ++bids;
      const int64_t auction = e["auction"].get<int64_t>() - 1000;
      const int64_t hot_auction = last_auction / 100 * 100;
      if (auction == hot_auction) ++hot_auction_bids;
      EXPECT_TRUE(auction == hot_auction || (auction >= std::max<int64_t>(last_auction - 100, 0) &&
                                             auction <= last_auction + 10))
          << n << ": auction " << auction;
      const int64_t bidder = e["bidder"].get<int64_t>() - 1000;
      EXPECT_TRUE(bidder == last_person / 100 * 100 + 1 ||
                  (bidder >= people - active && bidder < people + 10))
          << n << ": bidder " << bidder;
      EXPECT_GT(e["price"].get<int64_t>(), 0);
      EXPECT_FALSE(e["channel"].get<std::string>().empty());
      EXPECT_EQ(e["url"].get<std::string>().rfind("https://www.nexmark.com/", 0), 0u);
    }
  }
  // hotAuctionRatio 2: about half the bids go to the hot auction.
  EXPECT_GT(hot_auction_bids, bids * 4 / 10);
  EXPECT_LT(hot_auction_bids, bids * 6 / 10);
}

TEST(NexmarkTest, ConfigSetsBaseTimeAndEventRate) {
  std::vector<json> events = Events(0, 1, 100, R"({"baseTime": 5000, "eventsPerSecond": 500})");
  ASSERT_EQ(events.size(), 100u);
  for (size_t n = 0; n < events.size(); ++n) {
    EXPECT_EQ(events[n]["dateTime"].get<int64_t>(), 5000 + static_cast<int64_t>(n) * 2);
  }
}

TEST(NexmarkTest, StridedSubtasksPartitionTheStream) {
  std::vector<json> all = Events(0, 1, 3000);
  ASSERT_EQ(all.size(), 3000u);
  for (int64_t subtask = 0; subtask < 3; ++subtask) {
    std::vector<json> part = Events(subtask, 3, 1000);
    ASSERT_EQ(part.size(), 1000u);
    for (size_t k = 0; k < part.size(); ++k) {
      ASSERT_EQ(part[k], all[subtask + 3 * k]) << "subtask " << subtask << " record " << k;
    }
  }
}

TEST(NexmarkTest, ChainsOnTopOfNexmarkSeeRecords) {
  auto runner =
      V8Engine().Create(Chain({Stage("op1", "events", "source.nexmark"),
                               Stage("op2", "bids", "filter", "(r) => r.type === 'bid'"),
                               Stage("op3", "euro", "map",
                                     "(b) => ({auction: b.auction, price: Math.round(b.price * "
                                     "0.908)})")},
                              OutputMode::kCount),
                        {});
  ASSERT_TRUE(runner.ok()) << runner.status().message();
  Result<BatchResult> batch = (*runner)->RunGenerated(0, 1, 5000);
  ASSERT_TRUE(batch.ok()) << batch.status().message();
  EXPECT_EQ(batch->records_in, 5000u);
  EXPECT_EQ(batch->records_out, 4600u);
}

}  // namespace
}  // namespace sluice::js
