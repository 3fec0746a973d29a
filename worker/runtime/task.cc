#include "worker/runtime/task.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "worker/runtime/chain_feed.h"
#include "worker/runtime/time_keeper.h"

namespace sluice::runtime {

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
  thread_ = std::thread([this] {
    // "task g1.0" for `top -H`, perf and gdb: the part of the task id after the job's (Linux
    // allows 15 characters).
    const std::string& id = id_.str();
    const std::string name = "task " + id.substr(id.rfind('/') + 1);
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    Run();
  });
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
  if (const int64_t watermark = watermark_.load(); watermark != js::kMinWatermark) {
    status.set_watermark(watermark);
  }
  status.set_backpressured_ms(backpressured_ms_.load());
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
  if (services_.on_health_changed) health_.SetListener(services_.on_health_changed);
  auto built = BuildTask(deployment_, services_, cancel_, health_);
  if (!built.ok()) return built.status();
  TaskParts& parts = *built;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runner_ = parts.runner.get();
    source_ = parts.source.get();
    sink_ = parts.sink.get();
  }
  if (cancel_.cancelled()) parts.sink->Cancel();  // a Cancel() before the pointers were set
  TaskCheckpointer checkpointer(deployment_, services_.checkpoints);
  Status status = Loop(parts, checkpointer);
  if (!status.ok() || cancel_.cancelled()) parts.sink->Cancel();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    runner_ = nullptr;
    source_ = nullptr;
    sink_ = nullptr;
  }
  return status;
}

Status Task::Write(TaskParts& parts, const js::BatchResult& batch) {
  records_in_ += batch.records_in;
  records_out_ += batch.records_out;
  late_dropped_ = batch.late_dropped;
  late_side_output_ = batch.late_side_output;
  Status written = parts.sink->Write(batch);
  if (batch.watermark.has_value()) watermark_ = *batch.watermark;
  if (parts.exchange_sink != nullptr) {
    exchange_bytes_ = parts.exchange_sink->bytes_sent();
    backpressured_ms_ = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(parts.exchange_sink->blocked())
            .count());
  }
  return written;
}

// What the chain holds back across calls goes out before a barrier (js::ChainRunner::Release).
Status Task::Release(TaskParts& parts) {
  auto held = parts.runner->Release();
  if (!held.ok()) return held.status();
  if (!held->has_value()) return Status::Ok();
  return Write(parts, **held);
}

// Every batch goes through the chain to the sink; the time keeper moves time on (the source's
// watermark, at least every kTick, and +infinity at the end of the input so every pending
// window and timer fires).
Status Task::Loop(TaskParts& parts, TaskCheckpointer& checkpointer) {
  js::ChainRunner& chain = *parts.runner;
  TimeKeeper time(kTick);
  const auto write = [&](const js::BatchResult& batch) { return Write(parts, batch); };
  while (!cancel_.cancelled()) {
    SLUICE_RETURN_IF_ERROR(checkpointer.Poll(parts));  // an asynchronous snapshot that is done
    if (auto completed = mailbox_.TakeCompleted(); completed.has_value()) {
      SLUICE_RETURN_IF_ERROR(checkpointer.CommitCheckpoint(*completed, parts));
    }
    if (parts.has_source) {
      if (auto trigger = mailbox_.TakeTrigger(); trigger.has_value()) {
        SLUICE_RETURN_IF_ERROR(Release(parts));
        SLUICE_RETURN_IF_ERROR(checkpointer.TakeCheckpoint(*trigger, parts));
      }
    }
    auto input = parts.source->Next();
    if (!input.ok()) return input.status();
    if (input->end) {
      // A cancelled task's inbox closes: that is not the end of its input, and its pending
      // windows and timers must not fire.
      if (cancel_.cancelled()) return Status::Ok();
      auto last = time.End(chain);
      if (!last.ok()) return last.status();
      SLUICE_RETURN_IF_ERROR(Write(parts, *last));
      SLUICE_RETURN_IF_ERROR(checkpointer.Drain(parts));  // its ack goes before the end
      return parts.sink->Finish();
    }
    SLUICE_RETURN_IF_ERROR(FeedChain(*input, *parts.source, chain, time, write));
    if (parts.inbox_source != nullptr) {
      if (auto barrier = parts.inbox_source->TakeBarrier(); barrier.has_value()) {
        SLUICE_RETURN_IF_ERROR(Release(parts));
        SLUICE_RETURN_IF_ERROR(checkpointer.TakeCheckpoint(*barrier, parts));
      }
    }
    auto ticked = time.Tick(chain);
    if (!ticked.ok()) return ticked.status();
    if (ticked->has_value()) SLUICE_RETURN_IF_ERROR(Write(parts, **ticked));
  }
  return Status::Ok();
}

}  // namespace sluice::runtime
