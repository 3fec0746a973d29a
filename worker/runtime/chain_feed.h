#pragma once

#include <functional>

#include "common/status.h"
#include "worker/io/input_batch.h"
#include "worker/io/source.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/time_keeper.h"

namespace sluice::runtime {

// One input batch through the chain, as the task loop does it: its records (RunText,
// RunTextWithTimes or RunGenerated; an error the source locates when it can), then the time it
// brings (TimeKeeper::OnInput). `write` gets the chain's results in order: the records' result
// (or, without records, what the time fired, or an empty result), then what the time fired.
// Not for InputBatch::end (TimeKeeper::End). On the task thread.
Status FeedChain(const InputBatch& input, const SourceDriver& source, js::ChainRunner& chain,
                 TimeKeeper& time, const std::function<Status(const js::BatchResult&)>& write);

}  // namespace sluice::runtime
