#pragma once

#include "sluice/job.pb.h"

namespace sluice {

// Whether the HASH edge `edge` of `spec` needs no repartitioning: each upstream subtask's
// records are already those of the key groups the downstream subtask of the same index owns.
// Either the user says so (Edge.partitioned: `keyBy(fn, { partitioned: true })`), or Sluice can
// tell: the edge leaves a window's main output, whose records are `{ key, window, value }` with
// the key the window was keyed by, and its key selector returns that key (`(c) => c.key`). Only
// with equal parallelism on both ends does it chain (the planner), and then the task checks each
// record's key group either way (worker/js/chain_driver.cc). `from` is the edge's upstream
// operator (the callers hold it by index; a lookup by id per edge would make planning quadratic).
bool AlreadyPartitioned(const proto::Operator& from, const proto::Edge& edge);

// Whether `key_fn` (a key selector's source text) returns its argument's `key` field and nothing
// else: `(c) => c.key`, `c => c.key`, `(c) => c["key"]`, `function (c) { return c.key; }`.
bool ReturnsItsKeyField(const std::string& key_fn);

}  // namespace sluice
