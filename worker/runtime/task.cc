#include "worker/runtime/task.h"

#include "worker/js/chain_program.h"
#include "worker/runtime/exchange_io.h"
#include "worker/runtime/task_limits.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <string_view>

namespace sluice::runtime {
namespace {

std::string Label(const proto::Operator& op) {
  return "operator '" + op.name() + "' (" + op.id() + ")";
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

uint32_t MaxParallelism(const proto::JobSpec& spec) {
  return spec.max_parallelism() > 0 ? spec.max_parallelism() : 128;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// The parts of a running chain that a checkpoint touches; pointers owned by RunChain.
struct Task::Parts {
  js::ChainRunner* runner = nullptr;
  SourceDriver* source = nullptr;
  bool has_source = false;
  InboxSource* inbox_source = nullptr;  // when upstream tasks feed it
  BatchSink* sink = nullptr;
  bool has_sink = false;                // the chain ends in a sink operator
  ExchangeSink* exchange_sink = nullptr;
  state::RocksStateBackend* state = nullptr;
  std::string keyed_operator_id;
};

Task::Task(proto::TaskDeployment deployment, TaskServices services)
    : deployment_(std::move(deployment)),
      services_(std::move(services)),
      id_(deployment_.task_id()),
      job_id_(deployment_.job_id()) {}

Task::~Task() {
  Cancel();
  Join();
}

void Task::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Task::Cancel() {
  cancel_.Cancel();
  if (services_.inbox != nullptr) services_.inbox->Close();
  std::lock_guard<std::mutex> lock(mutex_);
  if (runner_ != nullptr) runner_->Interrupt();
  if (source_ != nullptr) source_->Cancel();
  if (sink_ != nullptr) sink_->Cancel();
}

void Task::Join() {
  if (thread_.joinable()) thread_.join();
}

proto::TaskStatus Task::Snapshot() const {
  proto::TaskStatus status;
  status.set_job_id(job_id_.str());
  status.set_task_id(id_.str());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    status.set_state(state_);
    status.set_failure(failure_);
    if (state_ == proto::TASK_FAILED) {
      status.set_failure_domain(failure_domain_);
      status.set_failure_retryable(failure_retryable_);
    }
  }
  status.set_records_in(records_in_.load());
  status.set_records_out(records_out_.load());
  status.set_detail(health_.problem());
  status.set_connector_retries(health_.retries());
  return status;
}

void Task::Run() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = proto::TASK_RUNNING;
  }
  Status result = RunChain();
  proto::TaskState end_state = proto::TASK_FINISHED;
  if (cancel_.cancelled()) {
    end_state = proto::TASK_CANCELED;
  } else if (!result.ok()) {
    end_state = proto::TASK_FAILED;
  }
  std::string failure = end_state == proto::TASK_FAILED ? result.message() : "";
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_ = end_state;
    failure_ = failure;
    switch (result.domain()) {
      case ErrorDomain::kUser: failure_domain_ = proto::FAILURE_USER; break;
      case ErrorDomain::kExternal: failure_domain_ = proto::FAILURE_EXTERNAL; break;
      case ErrorDomain::kInternal: failure_domain_ = proto::FAILURE_INTERNAL; break;
      case ErrorDomain::kNone: failure_domain_ = proto::FAILURE_DOMAIN_UNSPECIFIED; break;
    }
    failure_retryable_ = result.retryable();
  }
  if (end_state == proto::TASK_FAILED) {
    spdlog::warn("task {} failed: {}", id_.str(), failure);
  } else {
    spdlog::debug("task {} ended: {}", id_.str(), proto::TaskState_Name(end_state));
  }
  ended_ = true;
  if (services_.on_ended) services_.on_ended(id_, end_state, failure);
}

Status Task::RunChain() {
  std::map<std::string, const proto::Operator*> by_id;
  for (const auto& op : deployment_.spec().operators()) by_id[op.id()] = &op;
  std::vector<const proto::Operator*> chain;
  for (const auto& id : deployment_.operator_ids()) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return Status::Internal("task " + id_.str() + ": no operator " + id);
    chain.push_back(it->second);
  }
  if (chain.empty()) return Status::Internal("task " + id_.str() + " has no operators");
  const proto::Operator& first = *chain.front();
  const proto::Operator& last = *chain.back();
  const bool has_source = StartsWith(first.kind(), "source.");
  const bool has_sink = StartsWith(last.kind(), "sink.");
  if (!has_source && services_.inbox == nullptr) {
    return Status::Internal("task " + id_.str() + " has neither a source nor an input");
  }
  if (!has_sink && (services_.router == nullptr || deployment_.outputs_size() == 0)) {
    return Status::Internal("task " + id_.str() + " has neither a sink nor outputs");
  }
  const uint32_t max_parallelism = MaxParallelism(deployment_.spec());

  Parts parts;
  parts.has_source = has_source;
  parts.has_sink = has_sink;
  Result<std::unique_ptr<BatchSink>> sink = Status::Internal("no sink");
  ExchangeSink* exchange_sink = nullptr;
  if (has_sink) {
    SinkContext sink_context;
    sink_context.job = job_id_;
    sink_context.task = id_;
    sink_context.operator_label = Label(last);
    sink_context.operator_id = last.id();
    sink_context.subtask = deployment_.subtask();
    sink_context.parallelism = deployment_.parallelism();
    sink_context.pusher = services_.pusher;
    sink_context.stdout_file = services_.stdout_file;
    sink_context.health = &health_;
    sink_context.restored = deployment_.has_restore();
    sink_context.file_reach = services_.file_reach;
    sink = MakeSink(last.kind(), last.config_json(), sink_context);
  } else {
    auto connected =
        ExchangeSink::Connect(deployment_.outputs(), *services_.router, services_.self_address,
                              "task " + id_.str(), services_.peer_security);
    if (connected.ok()) {
      exchange_sink = connected->get();
      sink = std::unique_ptr<BatchSink>(std::move(connected).value());
    } else {
      sink = connected.status();
    }
  }
  if (!sink.ok()) return sink.status();

  Result<std::unique_ptr<SourceDriver>> source = Status::Internal("no source");
  if (has_source) {
    SourceContext source_context{Label(first), deployment_.subtask(),
                                 std::max(1u, deployment_.parallelism()), &cancel_};
    source_context.health = &health_;
    source_context.file_reach = services_.file_reach;
    source_context.max_line_bytes = services_.limits.max_line_bytes;
    if (deployment_.has_restore()) {
      source_context.restore_positions = SourcePositions(deployment_.restore(), first.id());
    }
    source = MakeSourceDriver(first.kind(), first.config_json(), source_context);
  } else {
    std::vector<uint32_t> channel_inputs(deployment_.channel_inputs().begin(),
                                         deployment_.channel_inputs().end());
    auto inbox_source = std::make_unique<InboxSource>(services_.inbox, std::move(channel_inputs),
                                                      kTick, !deployment_.at_least_once());
    parts.inbox_source = inbox_source.get();
    source = std::unique_ptr<SourceDriver>(std::move(inbox_source));
  }
  if (!source.ok()) return source.status();

  js::ChainSpec spec;
  spec.text_format = has_source ? SourceTextFormat(first.kind(), first.config_json()) : "json";
  spec.output = (*sink)->output_mode();
  if (spec.output == js::OutputMode::kPartitioned) {
    spec.outputs = PartitionSpecs(deployment_.outputs(), deployment_.subtask(), max_parallelism);
    NameKeyOperators(deployment_, &spec.outputs);
    // SLUICE_EXCHANGE_CODEC=json in a worker's environment sends JSON lines only (to compare;
    // receivers read both formats either way).
    const char* codec = std::getenv("SLUICE_EXCHANGE_CODEC");
    if (codec != nullptr && std::string_view(codec) == "json") {
      spec.codec = js::BatchCodec::kJsonLines;
    }
  }
  spec.input_key_fn = deployment_.input_key_fn();
  spec.input_key_fns.assign(deployment_.input_key_fns().begin(),
                            deployment_.input_key_fns().end());
  if (deployment_.spec().state_cache_entries() > 0) {
    spec.state_cache_entries = deployment_.spec().state_cache_entries();
  }
  spec.max_parallelism = max_parallelism;
  spec.params_json =
      deployment_.spec().params_json().empty() ? "{}" : deployment_.spec().params_json();
  for (size_t i = 0; i < chain.size(); ++i) {
    const proto::Operator& op = *chain[i];
    if (has_sink && i + 1 == chain.size()) {
      std::map<std::string, std::string> functions(op.functions().begin(), op.functions().end());
      for (auto& stage : SinkFunctionStages(op.kind(), op.id(), op.name(), functions)) {
        spec.stages.push_back(std::move(stage));
      }
      break;
    }
    if (op.kind() == "union") continue;  // merging inputs is the exchange's work
    js::StageSpec stage{op.id(), op.name(), op.kind(), op.config_json(), {}};
    for (const auto& [role, source_text] : op.functions()) stage.functions[role] = source_text;
    spec.stages.push_back(std::move(stage));
  }
  auto limits = TaskJsLimits(deployment_.spec(), services_.limits);
  if (!limits.ok()) {
    (*sink)->Cancel();
    return limits.status();
  }
  spec.max_record_bytes = services_.limits.max_record_bytes;

  // Keyed state: one RocksDB per task, a column family for its keyed operator's state and one
  // for its timers. It lives as long as the task; checkpoints copy it (RocksDB checkpoints) and
  // a restored task starts from such a copy.
  // Declared before the backend, so the directory goes after the database closed.
  struct RemoveState {
    std::string directory;
    ~RemoveState() {
      std::error_code ignored;
      if (!directory.empty()) std::filesystem::remove_all(directory, ignored);
    }
  } remove_state;
  std::unique_ptr<state::RocksStateBackend> state;
  std::string state_directory;
  for (const js::StageSpec& stage : spec.stages) {
    if (js::KeyedLibrary(stage.kind).empty()) continue;
    state_directory = services_.state_dir + "/" + TaskFileName(id_);
    remove_state.directory = state_directory;
    auto opened = OpenState(state_directory, stage.operator_id);
    if (!opened.ok()) {
      (*sink)->Cancel();
      return Status(opened.status().code(), opened.status().domain(),
                    Label(*by_id.at(stage.operator_id)) + ": keyed state: " +
                        opened.status().message());
    }
    state = std::move(opened).value();
    parts.keyed_operator_id = stage.operator_id;
    spec.restore_state = deployment_.has_restore();
    break;
  }

  auto runner = services_.engine->Create(spec, *limits, state.get());
  if (!runner.ok()) {
    (*sink)->Cancel();
    return runner.status();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runner_ = runner->get();
    source_ = source->get();
    sink_ = sink->get();
  }
  if (cancel_.cancelled()) (*sink)->Cancel();  // a Cancel() before the pointers were set
  parts.runner = runner->get();
  parts.source = source->get();
  parts.sink = sink->get();
  parts.exchange_sink = exchange_sink;
  parts.state = state.get();
  if (has_sink && deployment_.has_restore()) {
    Status restored = (*sink)->Restore(
        deployment_.restore().checkpoint_id(),
        SinkStates(deployment_.restore(), last.id(), deployment_.subtask(),
                   std::max(1u, deployment_.parallelism())));
    if (!restored.ok()) {
      (*sink)->Cancel();
      return restored;
    }
  }
  // Every batch goes to the sink; time moves on at least every kTick, and at the end of the
  // input the watermark jumps to +infinity so every pending window and timer fires.
  auto write = [&](const js::BatchResult& batch) {
    records_in_ += batch.records_in;
    records_out_ += batch.records_out;
    late_dropped_ = batch.late_dropped;
    late_side_output_ = batch.late_side_output;
    Status written = (*sink)->Write(batch);
    if (exchange_sink != nullptr) exchange_bytes_ = exchange_sink->bytes_sent();
    return written;
  };
  Status status = Status::Ok();
  auto next_tick = std::chrono::steady_clock::now() + kTick;
  while (!cancel_.cancelled()) {
    if (auto completed = mailbox_.TakeCompleted(); completed.has_value()) {
      status = (*sink)->CommitCheckpoint(*completed);
      if (!status.ok()) break;
    }
    if (has_source) {
      if (auto trigger = mailbox_.TakeTrigger(); trigger.has_value()) {
        status = TakeCheckpoint(*trigger, parts);
        if (!status.ok()) break;
      }
    }
    auto batch = (*source)->Next(**runner);
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    if (!batch->has_value()) {
      // A cancelled task's inbox closes: that is not the end of its input, and its pending
      // windows and timers must not fire.
      if (cancel_.cancelled()) break;
      auto last = (*runner)->AdvanceTime(js::kMaxWatermark, NowMs());
      status = last.ok() ? write(*last) : last.status();
      if (status.ok()) status = (*sink)->Finish();
      break;
    }
    status = write(**batch);
    if (!status.ok()) break;
    if (parts.inbox_source != nullptr) {
      if (auto barrier = parts.inbox_source->TakeBarrier(); barrier.has_value()) {
        status = TakeCheckpoint(*barrier, parts);
        if (!status.ok()) break;
      }
    }
    if (std::chrono::steady_clock::now() >= next_tick) {
      auto ticked = (*runner)->AdvanceTime(std::nullopt, NowMs());
      status = ticked.ok() ? write(*ticked) : ticked.status();
      if (!status.ok()) break;
      next_tick = std::chrono::steady_clock::now() + kTick;
    }
  }
  if (!status.ok() || cancel_.cancelled()) (*sink)->Cancel();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runner_ = nullptr;
    source_ = nullptr;
    sink_ = nullptr;
  }
  return status;
}

Result<std::unique_ptr<state::RocksStateBackend>> Task::OpenState(
    const std::string& directory, const std::string& operator_id) {
  const std::vector<std::string> tables = {operator_id, operator_id + "#timers"};
  std::error_code ignored;
  std::filesystem::remove_all(directory, ignored);  // a leftover of a crashed worker
  if (!deployment_.has_restore()) return state::RocksStateBackend::Open(directory, tables);
  const uint32_t max_parallelism = MaxParallelism(deployment_.spec());
  std::vector<state::RestoreSource> sources;
  for (const proto::TaskSnapshot* snapshot : KeyedSnapshots(deployment_.restore(), operator_id)) {
    if (snapshot->max_parallelism() != max_parallelism) {
      return Status::User("cannot restore from " + deployment_.restore().directory() +
                          ": it has " + std::to_string(snapshot->max_parallelism()) +
                          " key groups and the job " + std::to_string(max_parallelism) +
                          " (maxParallelism must stay the same)");
    }
    auto range = state::KeyGroupRangeOf(snapshot->subtask(), std::max(1u, snapshot->parallelism()),
                                        max_parallelism);
    if (!range.ok()) return range.status();
    sources.push_back(state::RestoreSource{
        deployment_.restore().directory() + "/" + snapshot->state_path(), range->first,
        range->last});
  }
  auto range = state::KeyGroupRangeOf(deployment_.subtask(),
                                      std::max(1u, deployment_.parallelism()), max_parallelism);
  if (!range.ok()) return range.status();
  return state::RocksStateBackend::Restore(directory, tables, sources, range->first, range->last);
}

Status Task::TakeCheckpoint(uint64_t checkpoint, Parts& parts) {
  proto::TaskSnapshot snapshot;
  snapshot.set_task_id(id_.str());
  for (const auto& op : deployment_.operator_ids()) snapshot.add_operator_ids(op);
  snapshot.set_subtask(deployment_.subtask());
  snapshot.set_parallelism(std::max(1u, deployment_.parallelism()));
  snapshot.set_max_parallelism(MaxParallelism(deployment_.spec()));
  std::string failure;
  const std::string& job_directory = deployment_.checkpoint_dir();
  if (job_directory.empty()) {
    failure = "the job has no checkpoint directory";
  } else {
    const std::string name = TaskFileName(id_);
    const std::string directory = CheckpointDirectory(job_directory, checkpoint) + "/" + name;
    std::error_code error;
    std::filesystem::create_directories(directory, error);
    if (error) failure = "cannot create '" + directory + "': " + error.message();
    if (failure.empty() && parts.state != nullptr) {
      Status taken = parts.runner->SnapshotState();
      if (taken.ok()) taken = parts.state->Checkpoint(directory + "/state");
      if (taken.ok()) {
        snapshot.set_state_path(name + "/state");
        snapshot.set_keyed_operator_id(parts.keyed_operator_id);
      } else {
        failure = "keyed state: " + taken.message();
      }
    }
    if (failure.empty() && parts.has_source) {
      snapshot.set_source_position(parts.source->Position());
    }
    if (failure.empty() && parts.has_sink) {
      std::filesystem::create_directories(directory + "/sink", error);
      auto prepared = parts.sink->PrepareCommit(checkpoint, directory + "/sink");
      if (prepared.ok()) {
        snapshot.set_sink_state(*prepared);
      } else {
        failure = prepared.status().message();
      }
    }
  }
  // Downstream tasks align on this barrier whether or not this snapshot worked.
  if (parts.exchange_sink != nullptr) {
    SLUICE_RETURN_IF_ERROR(parts.exchange_sink->SendBarrier(checkpoint));
  }
  if (services_.checkpoints != nullptr) {
    if (failure.empty()) {
      services_.checkpoints->Acknowledge(job_id_, checkpoint, snapshot);
    } else {
      spdlog::warn("task {}: checkpoint {} declined: {}", id_.str(), checkpoint, failure);
      services_.checkpoints->Decline(job_id_, id_, checkpoint, failure);
    }
  }
  return Status::Ok();
}

}  // namespace sluice::runtime
