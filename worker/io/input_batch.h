#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sluice::runtime {

// Records a generated source asks the chain to build from their indexes: first, first + stride,
// ... (`count` of them); the chain's source stage makes each record (ChainRunner::RunGenerated).
struct IndexRun {
  int64_t first = 0;
  int64_t stride = 1;
  int32_t count = 0;
};

// What a source hands its task per SourceDriver::Next(): records, the time they bring, or the
// end of the input. Plain data: a source fills it without any JS; the task loop runs the records
// through the chain and gives the time to its TimeKeeper (worker/runtime/time_keeper.h), which
// alone moves the chain's time.
struct InputBatch {
  // The records, in one of two forms (or none: a batch that only brings time, or nothing yet):
  // `text`: whole lines each ending in '\n' (or, from an upstream task, one columnar batch, first
  // byte 0x01), read as the chain's text_format says;
  std::string text;
  // `generated`: indexes the chain builds the records of.
  std::optional<IndexRun> generated;
  // With `text` lines: each line's event time (nullopt: none), one per line, when the source
  // stamps them; empty: the records get their times in the chain, if at all.
  std::vector<std::optional<int64_t>> event_times;
  // The chain input the records arrived on (1: a join's second input).
  uint32_t input = 0;

  // The source's watermark (event time in epoch ms) when it says one; the time keeper moves
  // the chain on when it passed the last.
  std::optional<int64_t> watermark;
  // Whether the source is idle (every input it reads has been quiet for its idle timeout), when
  // it tracks idleness; an idle source does not hold back the operators downstream.
  std::optional<bool> idle;
  // A bounded source is exhausted (or every upstream channel ended): nothing follows.
  bool end = false;

  bool has_records() const { return !text.empty() || generated.has_value(); }

  static InputBatch End() {
    InputBatch batch;
    batch.end = true;
    return batch;
  }
};

}  // namespace sluice::runtime
