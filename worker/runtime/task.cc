#include "worker/runtime/task.h"

#include <spdlog/spdlog.h>

#include <map>

namespace sluice::runtime {
namespace {

std::string Label(const proto::Operator& op) {
  return "operator '" + op.name() + "' (" + op.id() + ")";
}

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

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
  std::lock_guard<std::mutex> lock(mutex_);
  if (runner_ != nullptr) runner_->Interrupt();
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
  if (chain.size() < 2 || !StartsWith(chain.front()->kind(), "source.") ||
      !StartsWith(chain.back()->kind(), "sink.")) {
    return Status::Internal("task " + id_.str() +
                            ": a chain must run from a source to a sink in this version");
  }
  const proto::Operator& source_op = *chain.front();
  const proto::Operator& sink_op = *chain.back();

  SinkContext sink_context{job_id_,
                           id_,
                           Label(sink_op),
                           deployment_.subtask(),
                           deployment_.parallelism(),
                           services_.pusher,
                           services_.stdout_file};
  auto sink = MakeSink(sink_op.kind(), sink_op.config_json(), sink_context);
  if (!sink.ok()) return sink.status();

  SourceContext source_context{Label(source_op), deployment_.subtask(),
                               std::max(1u, deployment_.parallelism()), &cancel_};
  auto source = MakeSourceDriver(source_op.kind(), source_op.config_json(), source_context);
  if (!source.ok()) return source.status();

  js::ChainSpec spec;
  spec.text_format = SourceTextFormat(source_op.kind(), source_op.config_json());
  spec.output = (*sink)->output_mode();
  spec.params_json =
      deployment_.spec().params_json().empty() ? "{}" : deployment_.spec().params_json();
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    const proto::Operator& op = *chain[i];
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

  auto runner = services_.engine->Create(spec, limits);
  if (!runner.ok()) return runner.status();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runner_ = runner->get();
  }
  Status status = Status::Ok();
  while (!cancel_.cancelled()) {
    auto batch = (*source)->Next(**runner);
    if (!batch.ok()) {
      status = batch.status();
      break;
    }
    if (!batch->has_value()) {
      status = (*sink)->Finish();
      break;
    }
    records_in_ += (*batch)->records_in;
    records_out_ += (*batch)->records_out;
    status = (*sink)->Write(**batch);
    if (!status.ok()) break;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runner_ = nullptr;
  }
  return status;
}

}  // namespace sluice::runtime
