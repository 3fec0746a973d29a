#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "sluice/worker_service.pb.h"
#include "worker/exchange/exchange.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/source_driver.h"
#include "worker/runtime/watermarks.h"

namespace sluice::runtime {

// How far (event time, ms) a channel's watermark may run ahead of the task's before InboxSource
// holds the channel back (see there).
inline constexpr int64_t kMaxChannelLead = 0;

// The input of a task fed by upstream tasks: pops batches from the task's inbox and hands each
// on as an InputBatch (on the input its channel belongs to), and keeps the task's input
// watermark: the minimum over its channels (WatermarkTracker), handed on when it advanced, with
// whether every channel is idle. Waits for input at most `max_wait`, then returns an empty batch
// so the task can move processing time on. Ends when every upstream channel has ended. Created
// and used on the task thread; Cancel() (any thread) closes the inbox, which wakes a waiting
// Next.
//
// Watermark alignment between channels: a channel whose watermark is more than `max_lead` ahead
// of the task's (the minimum) is held back in the inbox (Inbox::Hold) until the others catch
// up, so a fast sender's records wait there, encoded, instead of in the task's windows, which
// cannot fire before the slowest channel's watermark passes them; its sender blocks once the
// channel's room is full. Per-channel order is kept; only which channel goes first changes.
// Never while a checkpoint's barriers are being aligned (held channels are let go first), nor
// before every counting channel had a watermark; idle and ended channels are never held. When
// nothing else arrives within `max_wait` every held channel is let go, and none is held again
// until the task's watermark advances (a liveness backstop: a channel that lags without going
// idle costs the others one wait per advance, not one per batch).
class InboxSource : public SourceDriver {
 public:
  // channel_inputs[c]: the input (0, or 1 for a join's second) of channel c; empty: all 0.
  // With `align`, a channel that delivered checkpoint n's barrier is held back until every
  // channel did (exactly-once); without, the barriers are only counted (at-least-once).
  // max_lead: see above; negative: channels are never held for running ahead.
  InboxSource(std::shared_ptr<exchange::Inbox> inbox, std::vector<uint32_t> channel_inputs,
              std::chrono::milliseconds max_wait, bool align = true,
              int64_t max_lead = kMaxChannelLead);
  Result<InputBatch> Next() override;
  void Cancel() override { inbox_->Close(); }
  // Checkpoint n when every channel delivered its barrier (an ended channel counts): the task
  // snapshots now, after the batch (and its time) that Next() returned last went through the
  // chain. Once per n.
  std::optional<uint64_t> TakeBarrier();

 private:
  // `batch` saying whether every channel is idle now (the time keeper reports a change).
  InputBatch WithIdleness(InputBatch batch);
  // Channel `channel` delivered barrier `checkpoint` (or ended, with checkpoint 0).
  void OnBarrier(uint32_t channel, uint64_t checkpoint);
  // Holds back the channels that ran more than max_lead_ ahead, lets go of the others.
  void UpdateHolds();
  void ReleaseHolds();

  std::shared_ptr<exchange::Inbox> inbox_;
  std::vector<uint32_t> channel_inputs_;
  std::chrono::milliseconds max_wait_;
  WatermarkTracker watermarks_;
  bool reported_idle_ = false;  // the idleness the last batch said
  bool align_ = true;
  uint64_t aligning_ = 0;              // the checkpoint whose barriers are coming in, or 0
  std::vector<bool> barrier_seen_;     // per channel, for `aligning_`
  uint32_t barriers_seen_ = 0;
  std::vector<bool> channel_ended_;
  std::optional<uint64_t> aligned_;    // every barrier of this checkpoint is in
  uint64_t taken_ = 0;                 // the last checkpoint TakeBarrier() handed out
  int64_t max_lead_ = kMaxChannelLead;
  std::vector<bool> held_;             // per channel: held back for running ahead
  uint32_t held_count_ = 0;
  bool holds_suspended_ = false;       // by the backstop, until the watermark advances
};

// The end of a chain that feeds other tasks: the chain partitions its records per outgoing
// edge and downstream subtask; each non-empty partition goes down its channel (local inbox or
// a gRPC stream to another worker), blocking while the receiver has no room. Created on the
// task thread (connecting every channel); Cancel() may come from any thread.
class ExchangeSink : public BatchSink {
 public:
  js::OutputMode output_mode() const override { return js::OutputMode::kPartitioned; }
  Status Write(const js::BatchResult& batch) override;
  // Sends the batch's partitions and then, on every channel, the chain's watermark when it
  // advanced and its idleness when it went idle.
  // Sends end-of-stream on every channel.
  Status Finish() override;
  // Sends checkpoint n's barrier on every channel, after everything written before.
  Status SendBarrier(uint64_t checkpoint);
  void Cancel() override;
  uint64_t bytes_sent() const;
  // Total time Write and SendBarrier spent handing batches over. Handing over is queueing (the
  // senders' writers do the I/O), so this is time spent waiting for a receiver's credit: the
  // time the task was back-pressured.
  std::chrono::nanoseconds blocked() const { return blocked_; }

  // Connects a channel to every target of every route; targets at `self_address` are local,
  // the others ride `peers`' connection to their worker (needed when there are any).
  static Result<std::unique_ptr<ExchangeSink>> Connect(
      const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes,
      exchange::Router& router, const std::string& self_address, const std::string& label,
      exchange::PeerConnections* peers);

 private:
  Status Send(exchange::Sender& sender, exchange::Batch batch);

  std::vector<std::vector<std::unique_ptr<exchange::Sender>>> senders_;  // [route][target]
  std::chrono::nanoseconds blocked_{0};  // task thread only
};

// A route's targets (target_task_ids, or the compact form: see proto OutputRoute).
uint32_t RouteTargets(const proto::OutputRoute& route);
struct RouteTarget {
  TaskId task;
  std::string address;  // its worker's exchange address
};
// Target `target` (< RouteTargets) of the route; InvalidArgument when the route lacks it.
Result<RouteTarget> TargetOf(const proto::OutputRoute& route, uint32_t target);

// Sets each hashed output's key_operator to the operator its route feeds, from the job spec, and
// its combiner to that operator's stage when the route combines.
void NameKeyOperators(const proto::TaskDeployment& deployment,
                      std::vector<js::PartitionSpec>* outputs);

// The chain's partitioning for each route, for js::ChainSpec::outputs.
std::vector<js::PartitionSpec> PartitionSpecs(
    const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes, uint32_t subtask,
    uint32_t max_parallelism);

}  // namespace sluice::runtime
