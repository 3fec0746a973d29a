#include "worker/runtime/task.h"

#include "worker/js/chain_program.h"
#include "worker/runtime/exchange_io.h"
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

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

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
  const uint32_t max_parallelism = deployment_.spec().max_parallelism() > 0
                                       ? deployment_.spec().max_parallelism()
                                       : 128;

  Result<std::unique_ptr<BatchSink>> sink = Status::Internal("no sink");
  ExchangeSink* exchange_sink = nullptr;
  if (has_sink) {
    SinkContext sink_context{job_id_,
                             id_,
                             Label(last),
                             deployment_.subtask(),
                             deployment_.parallelism(),
                             services_.pusher,
                             services_.stdout_file,
                             &health_};
    sink = MakeSink(last.kind(), last.config_json(), sink_context);
  } else {
    auto connected = ExchangeSink::Connect(deployment_.outputs(), *services_.router,
                                               services_.self_address, "task " + id_.str());
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
    source = MakeSourceDriver(first.kind(), first.config_json(), source_context);
  } else {
    std::vector<uint32_t> channel_inputs(deployment_.channel_inputs().begin(),
                                         deployment_.channel_inputs().end());
    source = std::unique_ptr<SourceDriver>(
        new InboxSource(services_.inbox, std::move(channel_inputs), kTick));
  }
  if (!source.ok()) return source.status();

  js::ChainSpec spec;
  spec.text_format = has_source ? SourceTextFormat(first.kind(), first.config_json()) : "json";
  spec.output = (*sink)->output_mode();
  if (spec.output == js::OutputMode::kPartitioned) {
    spec.outputs = PartitionSpecs(deployment_.outputs(), deployment_.subtask(), max_parallelism);
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
  js::Limits limits;
  if (deployment_.spec().call_timeout_ms() > 0) {
    limits.call_timeout_ms = deployment_.spec().call_timeout_ms();
  }
  if (deployment_.spec().heap_limit_mb() > 0) {
    limits.heap_limit_mb = deployment_.spec().heap_limit_mb();
  }

  // Keyed state: one RocksDB per task, a column family for its keyed operator. Without
  // checkpoints (the fault-tolerance issue) it lives as long as the task.
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
    std::string name = id_.str();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    state_directory = services_.state_dir + "/" + name;
    auto opened = state::RocksStateBackend::Open(state_directory, {stage.operator_id});
    if (!opened.ok()) {
      (*sink)->Cancel();
      return Status(opened.status().code(), opened.status().domain(),
                    Label(*by_id.at(stage.operator_id)) + ": keyed state: " +
                        opened.status().message());
    }
    state = std::move(opened).value();
    remove_state.directory = state_directory;
    break;
  }

  auto runner = services_.engine->Create(spec, limits, state.get());
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
    auto batch = (*source)->Next(**runner);
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    if (!batch->has_value()) {
      auto last = (*runner)->AdvanceTime(js::kMaxWatermark, NowMs());
      status = last.ok() ? write(*last) : last.status();
      if (status.ok()) status = (*sink)->Finish();
      break;
    }
    status = write(**batch);
    if (!status.ok()) break;
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

}  // namespace sluice::runtime
