#include "worker/runtime/exchange_io.h"

#include "worker/js/chain_program.h"

namespace sluice::runtime {

namespace {

std::optional<int64_t> Later(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a.has_value()) return b;
  if (!b.has_value()) return a;
  return std::max(*a, *b);
}

}  // namespace

InboxSource::InboxSource(std::shared_ptr<exchange::Inbox> inbox,
                         std::vector<uint32_t> channel_inputs, std::chrono::milliseconds max_wait,
                         bool align, int64_t max_lead)
    : inbox_(std::move(inbox)),
      channel_inputs_(std::move(channel_inputs)),
      max_wait_(max_wait),
      watermarks_(inbox_->channels()),
      align_(align),
      barrier_seen_(inbox_->channels(), false),
      channel_ended_(inbox_->channels(), false),
      max_lead_(max_lead),
      held_(inbox_->channels(), false) {}

void InboxSource::ReleaseHolds() {
  if (held_count_ == 0) return;
  for (uint32_t c = 0; c < held_.size(); ++c) {
    if (!held_[c]) continue;
    held_[c] = false;
    inbox_->Unblock(c);
  }
  held_count_ = 0;
}

void InboxSource::UpdateHolds() {
  if (max_lead_ < 0) return;
  const int64_t current = watermarks_.current();
  // Barrier alignment blocks channels of its own; a held channel could owe it its barrier.
  if (holds_suspended_ || aligning_ != 0 || current == js::kMinWatermark ||
      current > js::kMaxWatermark - max_lead_) {
    ReleaseHolds();
    return;
  }
  for (uint32_t c = 0; c < held_.size(); ++c) {
    const bool ahead = watermarks_.counts(c) && watermarks_.watermark(c) > current + max_lead_;
    if (ahead == held_[c]) continue;
    held_[c] = ahead;
    if (ahead) {
      inbox_->Hold(c);
      ++held_count_;
    } else {
      inbox_->Unblock(c);
      --held_count_;
    }
  }
}

void InboxSource::OnBarrier(uint32_t channel, uint64_t checkpoint) {
  if (channel >= barrier_seen_.size()) return;
  if (checkpoint == 0) {  // the channel ended: it owes no barrier now or later
    channel_ended_[channel] = true;
    if (aligning_ == 0 || barrier_seen_[channel]) return;
  } else if (checkpoint < aligning_ || (aligned_.has_value() && checkpoint <= *aligned_)) {
    return;  // a barrier of a checkpoint given up already
  } else if (checkpoint > aligning_) {
    // A new checkpoint; one still aligning was given up (one is pending at a time). Channels
    // held for running ahead go too: one may owe this checkpoint its barrier.
    inbox_->UnblockAll();
    std::fill(held_.begin(), held_.end(), false);
    held_count_ = 0;
    aligning_ = checkpoint;
    std::fill(barrier_seen_.begin(), barrier_seen_.end(), false);
    barriers_seen_ = 0;
    for (size_t c = 0; c < channel_ended_.size(); ++c) {
      if (channel_ended_[c]) {
        barrier_seen_[c] = true;
        ++barriers_seen_;
      }
    }
  }
  if (!barrier_seen_[channel]) {
    barrier_seen_[channel] = true;
    ++barriers_seen_;
    if (align_ && checkpoint != 0) inbox_->Block(channel);
  }
  if (barriers_seen_ < barrier_seen_.size()) return;
  inbox_->UnblockAll();
  aligned_ = aligning_;
  aligning_ = 0;
}

std::optional<uint64_t> InboxSource::TakeBarrier() {
  if (!aligned_.has_value() || taken_ == *aligned_) return std::nullopt;
  taken_ = *aligned_;
  return taken_;
}

InputBatch InboxSource::WithIdleness(InputBatch batch) {
  reported_idle_ = watermarks_.all_idle();
  batch.idle = reported_idle_;
  return batch;
}

Result<InputBatch> InboxSource::Next() {
  using Kind = exchange::InboxItem::Kind;
  const auto deadline = std::chrono::steady_clock::now() + max_wait_;
  while (true) {
    exchange::InboxItem item = inbox_->Next(deadline);
    std::optional<int64_t> advanced;
    switch (item.kind) {
      case Kind::kDone:
        return InputBatch::End();
      case Kind::kTimeout:
        if (held_count_ > 0) {  // nothing came from the others: let the held channels go on
          ReleaseHolds();
          holds_suspended_ = true;
        }
        return WithIdleness(InputBatch{});
      case Kind::kChannelEnd:
        advanced = watermarks_.OnEnd(item.channel);
        OnBarrier(item.channel, 0);
        if (advanced.has_value()) holds_suspended_ = false;
        UpdateHolds();
        break;
      case Kind::kBatch: {
        exchange::Batch& batch = item.batch;
        const uint32_t channel = batch.channel;
        if (!batch.data.empty()) advanced = watermarks_.OnActive(channel);
        if (batch.watermark.has_value()) {
          advanced = Later(advanced, watermarks_.OnWatermark(channel, *batch.watermark));
        }
        if (batch.idle) advanced = Later(advanced, watermarks_.OnIdle(channel));
        if (batch.barrier != 0) OnBarrier(channel, batch.barrier);
        if (batch.time_only()) {
          // The watermarks queued right behind it go in the same step: one call into the chain.
          while (std::optional<exchange::Batch> more = inbox_->TakeTimeOnly()) {
            advanced = Later(advanced, watermarks_.OnWatermark(more->channel, *more->watermark));
          }
        }
        if (advanced.has_value()) holds_suspended_ = false;
        UpdateHolds();
        if (batch.data.empty()) break;
        InputBatch records;
        records.text = std::move(batch.data);
        records.input = channel < channel_inputs_.size() ? channel_inputs_[channel] : 0;
        records.watermark = advanced;  // the time keeper moves it on after the records
        return WithIdleness(std::move(records));
      }
    }
    if (advanced.has_value()) {
      InputBatch time;
      time.watermark = advanced;
      return WithIdleness(std::move(time));
    }
    if (watermarks_.all_idle() != reported_idle_ ||
        (aligned_.has_value() && taken_ != *aligned_)) {
      return WithIdleness(InputBatch{});
    }
  }
}

Status ExchangeSink::Write(const js::BatchResult& batch) {
  const bool idle = batch.idle.value_or(false);
  for (size_t route = 0; route < senders_.size(); ++route) {
    const std::vector<std::string>* parts =
        route < batch.partitions.size() ? &batch.partitions[route] : nullptr;
    for (size_t target = 0; target < senders_[route].size(); ++target) {
      const bool has_data = parts != nullptr && target < parts->size() && !(*parts)[target].empty();
      if (!has_data && !batch.watermark.has_value() && !idle) continue;
      exchange::Batch out;
      if (has_data) out.data = (*parts)[target];
      out.watermark = batch.watermark;
      out.idle = idle;
      SLUICE_RETURN_IF_ERROR(Send(*senders_[route][target], std::move(out)));
    }
  }
  return Status::Ok();
}

Status ExchangeSink::Finish() {
  for (auto& route : senders_) {
    for (auto& sender : route) SLUICE_RETURN_IF_ERROR(sender->Finish());
  }
  return Status::Ok();
}

Status ExchangeSink::SendBarrier(uint64_t checkpoint) {
  for (auto& route : senders_) {
    for (auto& sender : route) {
      exchange::Batch out;
      out.barrier = checkpoint;
      SLUICE_RETURN_IF_ERROR(Send(*sender, std::move(out)));
    }
  }
  return Status::Ok();
}

void ExchangeSink::Cancel() {
  for (auto& route : senders_) {
    for (auto& sender : route) sender->Cancel();
  }
}

Status ExchangeSink::Send(exchange::Sender& sender, exchange::Batch batch) {
  const auto start = std::chrono::steady_clock::now();
  Status sent = sender.Send(std::move(batch));
  blocked_ += std::chrono::steady_clock::now() - start;
  return sent;
}

uint64_t ExchangeSink::bytes_sent() const {
  uint64_t total = 0;
  for (const auto& route : senders_) {
    for (const auto& sender : route) total += sender->bytes_sent();
  }
  return total;
}

Result<std::unique_ptr<ExchangeSink>> ExchangeSink::Connect(
    const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes, exchange::Router& router,
    const std::string& self_address, const std::string& label,
    exchange::PeerConnections* peers) {
  auto sink = std::unique_ptr<ExchangeSink>(new ExchangeSink());
  for (const proto::OutputRoute& route : routes) {
    auto& senders = sink->senders_.emplace_back();
    const uint32_t targets = RouteTargets(route);
    for (uint32_t t = 0; t < targets; ++t) {
      Result<RouteTarget> found = TargetOf(route, t);
      if (!found.ok()) return Status::InvalidArgument(label + ": " + found.status().message());
      const TaskId& target = found->task;
      const std::string& address = found->address;
      if (address != self_address && peers == nullptr) {
        return Status::Internal(label + ": no connections to other workers for task " +
                                target.str() + " at " + address);
      }
      auto sender = address == self_address
                        ? exchange::ConnectLocal(router, target, route.channel())
                        : exchange::ConnectRemote(*peers, address, target, route.channel());
      if (!sender.ok()) {
        return sender.status().WithContext(label);
      }
      senders.push_back(std::move(sender).value());
    }
  }
  return sink;
}

uint32_t RouteTargets(const proto::OutputRoute& route) {
  return route.target_task_ids_size() > 0 ? static_cast<uint32_t>(route.target_task_ids_size())
                                          : route.target_count();
}

Result<RouteTarget> TargetOf(const proto::OutputRoute& route, uint32_t target) {
  const int t = static_cast<int>(target);
  if (route.target_task_ids_size() > 0) {
    if (t >= route.target_addresses_size()) {
      return Status::InvalidArgument("route to channel " + std::to_string(route.channel()) +
                                     " has no address for target " + std::to_string(target));
    }
    return RouteTarget{TaskId(route.target_task_ids(t)), route.target_addresses(t)};
  }
  if (t >= route.target_worker_size() ||
      route.target_worker(t) >= static_cast<uint32_t>(route.worker_addresses_size())) {
    return Status::InvalidArgument("route to " + route.target_prefix() + " has no worker for target " +
                                   std::to_string(target));
  }
  return RouteTarget{
      TaskId(route.target_prefix() + std::to_string(target) + route.target_suffix()),
      route.worker_addresses(static_cast<int>(route.target_worker(t)))};
}

void NameKeyOperators(const proto::TaskDeployment& deployment,
                      std::vector<js::PartitionSpec>* outputs) {
  for (size_t e = 0; e < outputs->size() && e < static_cast<size_t>(deployment.outputs_size());
       ++e) {
    const std::string& id = deployment.outputs(static_cast<int>(e)).to_operator_id();
    if (id.empty() || (*outputs)[e].partitioning != js::Partitioning::kHash) continue;
    for (const proto::Operator& op : deployment.spec().operators()) {
      if (op.id() != id) continue;
      (*outputs)[e].key_operator = js::DescribeStage(js::StageSpec{op.id(), op.name()});
      // The window operator the sender pre-aggregates for (worker/js/runtime/combiner.js).
      if (deployment.outputs(static_cast<int>(e)).combine()) {
        js::StageSpec& combiner = (*outputs)[e].combiner.emplace();
        combiner = js::StageSpec{op.id(), op.name(), op.kind(), op.config_json(), {}};
        for (const auto& [role, text] : op.functions()) combiner.functions[role] = text;
      }
      break;
    }
  }
}

std::vector<js::PartitionSpec> PartitionSpecs(
    const google::protobuf::RepeatedPtrField<proto::OutputRoute>& routes, uint32_t subtask,
    uint32_t max_parallelism) {
  std::vector<js::PartitionSpec> specs;
  for (const proto::OutputRoute& route : routes) {
    js::PartitionSpec spec;
    switch (route.partitioning()) {
      case proto::HASH: spec.partitioning = js::Partitioning::kHash; break;
      case proto::REBALANCE: spec.partitioning = js::Partitioning::kRebalance; break;
      case proto::BROADCAST: spec.partitioning = js::Partitioning::kBroadcast; break;
      default: spec.partitioning = js::Partitioning::kForward; break;
    }
    spec.targets = RouteTargets(route);
    spec.subtask = subtask;
    spec.max_parallelism = max_parallelism;
    spec.key_fn = route.key_fn();
    spec.late = route.late();
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace sluice::runtime
