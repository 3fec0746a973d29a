#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::runtime {

// The indexes one subtask of an indexed source emits — the records of source.generator and
// source.nexmark, the lines of source.file — and what a checkpoint stores about them.
//
// Subtask s of P owns the indexes i with i mod P == s (its class) and emits them in increasing
// order. Started fresh that is s, s + P, s + 2P, ...; restored from a checkpoint taken at any
// parallelism it skips every index some old subtask had emitted. What was emitted is described
// by the old positions: all indexes of each old class below that subtask's next(), plus the
// runs that subtask still had to skip. Everything below the smallest old next() was emitted, so
// only a small region above it is irregular; the new subtask keeps the indexes of its class in
// that region that were emitted as arithmetic runs and skips them when it gets there. Over all
// new subtasks every index is emitted exactly once, and a restored share's position restores
// again (at any parallelism) with the same guarantee.
//
// A value type, used by one source on its task thread.
class IndexShare {
 public:
  // Indexes first, first + stride, ... (count of them, count > 0).
  struct Run {
    int64_t first = 0;
    int64_t stride = 1;
    int64_t count = 0;
  };

  // A fresh share: s, s + P, s + 2P, ...
  IndexShare(uint32_t subtask, uint32_t parallelism);

  // Subtask `subtask` of `parallelism` going on from `positions`, the ToJson() of every subtask
  // of the source when the checkpoint was taken. A user error naming `operator_label` when
  // they are malformed or do not come from every subtask of one parallelism.
  static Result<IndexShare> Restore(uint32_t subtask, uint32_t parallelism,
                                    const std::vector<nlohmann::json>& positions,
                                    const std::string& operator_label);

  // The next index to emit; never one emitted before.
  int64_t next() const { return next_; }
  uint32_t parallelism() const { return parallelism_; }

  // How many of next(), next() + P, ... can go in one run: those below `limit`, up to the first
  // index emitted before the restore.
  int64_t RunLength(int64_t limit) const;
  // Marks `count` indexes (at most RunLength()) from next() as emitted.
  void Advance(int64_t count);

  // {"subtask": s, "parallelism": P, "next": n, "emitted": [[first, stride, count], ...]}.
  nlohmann::json ToJson() const;

  // The indexes of class `subtask` mod `parallelism` in `run` that are >= `from`, as a run of
  // stride lcm(run.stride, parallelism); count 0 when there are none. Exposed for tests.
  static Run Intersect(const Run& run, uint32_t subtask, uint32_t parallelism, int64_t from);

 private:
  // Moves next_ past the indexes emitted before the restore, so that next_ is never one.
  void SkipEmitted();

  uint32_t subtask_ = 0;
  uint32_t parallelism_ = 1;
  int64_t next_ = 0;
  std::vector<Run> emitted_;  // indexes of the class above next_ that were emitted; disjoint
};

}  // namespace sluice::runtime
