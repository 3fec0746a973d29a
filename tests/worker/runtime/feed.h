#pragma once

#include <chrono>
#include <optional>

#include "worker/io/source.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/chain_feed.h"
#include "worker/runtime/time_keeper.h"

namespace sluice::runtime::testing {

// Drives a source as the task loop does: each Next() takes one InputBatch and feeds it through
// the chain (FeedChain, with this feed's TimeKeeper), and returns the chain's results for it
// merged into one (nullopt at the end of the input). Ticks are left to the test (`time`).
class Feed {
 public:
  explicit Feed(js::ChainRunner& chain, std::chrono::milliseconds tick = std::chrono::hours(1))
      : time(tick), chain_(chain) {}

  Result<std::optional<js::BatchResult>> Next(SourceDriver& source) {
    auto input = source.Next();
    if (!input.ok()) return input.status();
    if (input->end) return std::optional<js::BatchResult>();
    js::BatchResult merged;
    Status fed = FeedChain(*input, source, chain_, time, [&](const js::BatchResult& result) {
      Merge(result, &merged);
      return Status::Ok();
    });
    if (!fed.ok()) return fed;
    return std::optional<js::BatchResult>(std::move(merged));
  }

  TimeKeeper time;

 private:
  static void Merge(const js::BatchResult& result, js::BatchResult* into) {
    into->records_in += result.records_in;
    into->records_out += result.records_out;
    if (result.watermark.has_value()) into->watermark = result.watermark;
    if (result.idle.has_value()) into->idle = result.idle;
    into->late_dropped = result.late_dropped;
    into->late_side_output = result.late_side_output;
    into->json_lines += result.json_lines;
    if (into->partitions.empty()) into->partitions = result.partitions;
  }

  js::ChainRunner& chain_;
};

}  // namespace sluice::runtime::testing
