// The task's one clock (TimeKeeper) and how an input batch goes through the chain (FeedChain),
// with the fake chain in place of V8.
#include "worker/runtime/time_keeper.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/worker/runtime/fake_chain.h"
#include "worker/runtime/chain_feed.h"

namespace sluice::runtime {
namespace {

using std::chrono::milliseconds;
using testing::FakeChain;

class TimeKeeperTest : public ::testing::Test {
 protected:
  TimeKeeper MakeKeeper() {
    return TimeKeeper(milliseconds(50), [this] { return now_; }, [this] { return wall_ms_; });
  }

  InputBatch Watermark(int64_t watermark) {
    InputBatch batch;
    batch.watermark = watermark;
    return batch;
  }

  TimeKeeper::Clock::time_point now_{};
  int64_t wall_ms_ = 1'000'000;
  FakeChain chain_;
};

TEST_F(TimeKeeperTest, MovesTheChainOnlyWhenTheSourcesWatermarkPassedTheLastOne) {
  TimeKeeper time = MakeKeeper();
  js::BatchResult first;
  auto fired = time.OnInput(Watermark(100), chain_, first);
  ASSERT_TRUE(fired.ok());
  ASSERT_TRUE(fired->has_value());
  EXPECT_EQ((*fired)->watermark, 100);
  EXPECT_FALSE(time.OnInput(Watermark(100), chain_, first)->has_value());
  EXPECT_FALSE(time.OnInput(Watermark(40), chain_, first)->has_value());
  EXPECT_FALSE(time.OnInput(InputBatch{}, chain_, first)->has_value());
  EXPECT_TRUE(time.OnInput(Watermark(250), chain_, first)->has_value());
  EXPECT_EQ(chain_.advances, (std::vector<std::optional<int64_t>>{100, 250}));
  EXPECT_EQ(chain_.advance_times, (std::vector<int64_t>{wall_ms_, wall_ms_}));
  EXPECT_EQ(time.watermark(), 250);
}

TEST_F(TimeKeeperTest, TicksProcessingTimeAtItsCadenceOnly) {
  TimeKeeper time = MakeKeeper();
  auto early = time.Tick(chain_);
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(early->has_value());
  now_ += milliseconds(50);
  wall_ms_ += 50;
  auto due = time.Tick(chain_);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->has_value());
  EXPECT_FALSE(time.Tick(chain_)->has_value());  // the next one is 50 ms on
  now_ += milliseconds(49);
  EXPECT_FALSE(time.Tick(chain_)->has_value());
  now_ += milliseconds(1);
  EXPECT_TRUE(time.Tick(chain_)->has_value());
  // A tick moves processing time only, never the watermark.
  EXPECT_EQ(chain_.advances, (std::vector<std::optional<int64_t>>{std::nullopt, std::nullopt}));
  EXPECT_EQ(chain_.advance_times[0], 1'000'050);
}

TEST_F(TimeKeeperTest, TheEndOfTheInputMovesTheWatermarkToInfinity) {
  TimeKeeper time = MakeKeeper();
  auto last = time.End(chain_);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->watermark, js::kMaxWatermark);
  EXPECT_EQ(chain_.advances, (std::vector<std::optional<int64_t>>{js::kMaxWatermark}));
}

TEST_F(TimeKeeperTest, ReportsAChangeOfTheSourcesIdlenessOnceOnTheBatchsFirstResult) {
  TimeKeeper time = MakeKeeper();
  InputBatch idle;
  idle.idle = true;
  js::BatchResult first;
  auto fired = time.OnInput(idle, chain_, first);
  ASSERT_TRUE(fired.ok());
  EXPECT_FALSE(fired->has_value());
  EXPECT_EQ(first.idle, true);
  js::BatchResult again;
  ASSERT_TRUE(time.OnInput(idle, chain_, again).ok());
  EXPECT_FALSE(again.idle.has_value());  // told already

  // Records end it; the change goes with their result.
  InputBatch records;
  records.text = "r\n";
  records.idle = false;
  js::BatchResult records_result;
  ASSERT_TRUE(time.OnInput(records, chain_, records_result).ok());
  EXPECT_EQ(records_result.idle, false);
}

TEST_F(TimeKeeperTest, IdlenessWithAWatermarkAndNoRecordsGoesWithWhatTheWatermarkFired) {
  // Downstream, a watermark after an idle mark would make the channel active again.
  TimeKeeper time = MakeKeeper();
  InputBatch batch = Watermark(500);
  batch.idle = true;
  js::BatchResult first;
  auto fired = time.OnInput(batch, chain_, first);
  ASSERT_TRUE(fired.ok());
  ASSERT_TRUE(fired->has_value());
  EXPECT_EQ((*fired)->watermark, 500);
  EXPECT_EQ((*fired)->idle, true);
  EXPECT_FALSE(first.idle.has_value());
}

TEST_F(TimeKeeperTest, FollowsTheIdlenessTheChainReportsItself) {
  TimeKeeper time = MakeKeeper();
  chain_.next_idle = true;  // an assign_timestamps stage noticed its input went idle
  now_ += milliseconds(50);
  auto ticked = time.Tick(chain_);
  ASSERT_TRUE(ticked.ok());
  EXPECT_EQ((*ticked)->idle, true);
  InputBatch idle;
  idle.idle = true;
  js::BatchResult first;
  ASSERT_TRUE(time.OnInput(idle, chain_, first).ok());
  EXPECT_FALSE(first.idle.has_value());  // downstream knows already
}

// A source that hands out the batches it is given and locates errors in its own words.
class ListSource : public SourceDriver {
 public:
  Result<InputBatch> Next() override { return InputBatch{}; }
  Status LocateRecordError(const InputBatch& batch, const Status& error) const override {
    return Status::User("located " + batch.text + ": " + error.message());
  }
};

class FailingChain : public FakeChain {
 public:
  Result<js::BatchResult> RunText(std::string_view, uint32_t) override {
    return Status::InvalidArgument("bad JSON line");
  }
};

std::vector<js::BatchResult> Feed(const InputBatch& input, js::ChainRunner& chain,
                                  TimeKeeper& time, Status* status = nullptr) {
  ListSource source;
  std::vector<js::BatchResult> written;
  Status fed = FeedChain(input, source, chain, time, [&](const js::BatchResult& result) {
    written.push_back(result);
    return Status::Ok();
  });
  if (status != nullptr) *status = fed;
  return written;
}

TEST_F(TimeKeeperTest, FeedRunsTheRecordsThenTheTimeTheyBring) {
  TimeKeeper time = MakeKeeper();
  InputBatch batch;
  batch.text = "a\nb\n";
  batch.input = 1;
  batch.watermark = 70;
  auto written = Feed(batch, chain_, time);
  EXPECT_EQ(chain_.calls, (std::vector<std::string>{"text", "advance"}));
  EXPECT_EQ(chain_.inputs, std::vector<uint32_t>{1});
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0].records_in, 2u);
  EXPECT_EQ(written[1].watermark, 70);
}

TEST_F(TimeKeeperTest, FeedHandsEventTimesToTheChainInItsFrameAndRunsGeneratedIndexes) {
  TimeKeeper time = MakeKeeper();
  InputBatch timed;
  timed.text = "{}\n{}\n";
  timed.event_times = {5, std::nullopt};
  Feed(timed, chain_, time);
  ASSERT_EQ(chain_.texts.size(), 1u);
  EXPECT_EQ(chain_.texts[0], "\x02[5,null]\n{}\n{}\n");  // codec.js's TIMES_MARK frame

  InputBatch generated;
  generated.generated = IndexRun{3, 4, 10};
  auto written = Feed(generated, chain_, time);
  ASSERT_EQ(chain_.generated.size(), 1u);
  EXPECT_EQ(chain_.generated[0].first, 3);
  EXPECT_EQ(chain_.generated[0].stride, 4);
  EXPECT_EQ(chain_.generated[0].count, 10);
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0].records_in, 10u);
}

TEST_F(TimeKeeperTest, FeedWritesOneResultForABatchWithoutRecords) {
  TimeKeeper time = MakeKeeper();
  EXPECT_EQ(Feed(InputBatch{}, chain_, time).size(), 1u);  // an empty one: counters go on
  auto fired = Feed(Watermark(9), chain_, time);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].watermark, 9);
  EXPECT_TRUE(chain_.texts.empty());
}

TEST_F(TimeKeeperTest, FeedLetsTheSourceLocateAnErrorInItsRecords) {
  TimeKeeper time = MakeKeeper();
  FailingChain chain;
  InputBatch batch;
  batch.text = "x\n";
  batch.watermark = 10;
  Status status;
  EXPECT_TRUE(Feed(batch, chain, time, &status).empty());
  EXPECT_EQ(status.message(), "located x\n: bad JSON line");
  EXPECT_TRUE(chain.advances.empty());  // no time after records that failed
}

}  // namespace
}  // namespace sluice::runtime
