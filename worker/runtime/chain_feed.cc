#include "worker/runtime/chain_feed.h"

namespace sluice::runtime {
namespace {

Result<js::BatchResult> RunRecords(const InputBatch& input, js::ChainRunner& chain) {
  if (input.generated.has_value()) {
    const IndexRun& run = *input.generated;
    return chain.RunGenerated(run.first, run.stride, run.count);
  }
  if (!input.event_times.empty()) {
    return chain.RunTextWithTimes(input.text, input.event_times, input.input);
  }
  return chain.RunText(input.text, input.input);
}

}  // namespace

Status FeedChain(const InputBatch& input, const SourceDriver& source, js::ChainRunner& chain,
                 TimeKeeper& time, const std::function<Status(const js::BatchResult&)>& write) {
  js::BatchResult first;
  if (input.has_records()) {
    auto records = RunRecords(input, chain);
    if (!records.ok()) return source.LocateRecordError(input, records.status());
    first = std::move(records).value();
  }
  auto fired = time.OnInput(input, chain, first);
  if (!fired.ok()) return fired.status();
  if (input.has_records() || !fired->has_value()) SLUICE_RETURN_IF_ERROR(write(first));
  if (fired->has_value()) SLUICE_RETURN_IF_ERROR(write(**fired));
  return Status::Ok();
}

}  // namespace sluice::runtime
