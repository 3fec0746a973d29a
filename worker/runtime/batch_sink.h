#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/ids.h"
#include "common/status.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/connector_health.h"
#include "worker/runtime/file_reach.h"

namespace sluice::runtime {

// Where collected records go (the coordinator, in a worker process). Called from task threads;
// implementations must be thread-safe.
class ResultPusher {
 public:
  virtual ~ResultPusher() = default;
  virtual Status Push(const JobId& job, const TaskId& task, std::vector<std::string> records) = 0;
  // A copy of what a stdout sink printed, for people watching the job; must not block.
  virtual void Watch(const JobId& job, std::string_view json_lines) {
    (void)job;
    (void)json_lines;
  }
};

// The end of a task's chain: takes each batch the chain produced. Created and used on the task
// thread; owned by the task.
class BatchSink {
 public:
  virtual ~BatchSink() = default;
  // Whether the chain should hand over JSON lines or only a count.
  virtual js::OutputMode output_mode() const { return js::OutputMode::kJsonLines; }
  virtual Status Write(const js::BatchResult& batch) = 0;
  // Flushes and closes; called once after the last batch of a bounded job.
  virtual Status Finish() = 0;
  // Wakes a Write() blocked on a slow receiver; any thread.
  virtual void Cancel() {}

  // Checkpoints. The defaults suit sinks that write at once (at-least-once); an exactly-once
  // sink holds each epoch back and commits it when its checkpoint completes. Epoch n is what
  // was written after barrier n-1 and up to barrier n (epoch 1 starts at the beginning, or
  // after the checkpoint a task was restored from). All on the task thread.
  //
  // Barrier n arrived: make every epoch not yet committed (n and any before it whose commit
  // has not happened) recoverable, writing what is needed under `directory` (a fresh
  // directory of this task inside checkpoint n), and return what Restore needs to find it
  // ("" when nothing).
  virtual Result<std::string> PrepareCommit(uint64_t checkpoint, const std::string& directory) {
    (void)checkpoint;
    (void)directory;
    return std::string();
  }
  // Checkpoint n completed: commit every prepared epoch up to n, each atomically with a marker
  // so that committing it again (after a restore) does nothing.
  virtual Status CommitCheckpoint(uint64_t checkpoint) {
    (void)checkpoint;
    return Status::Ok();
  }
  // Before the first Write of a task restored from checkpoint n: `prepared` is what
  // PrepareCommit returned in checkpoint n for each sink subtask this one takes over (its own
  // at an unchanged parallelism). Commits the epochs whose markers say they were not, then
  // goes on with epoch n + 1.
  virtual Status Restore(uint64_t checkpoint, const std::vector<std::string>& prepared) {
    (void)checkpoint;
    (void)prepared;
    return Status::Ok();
  }
};

struct SinkContext {
  JobId job;
  TaskId task;
  std::string operator_label;  // "operator 'name' (id)", for errors
  std::string operator_id;     // with job and subtask: the sink's identity in commit markers
  uint32_t subtask = 0;
  uint32_t parallelism = 1;
  ResultPusher* pusher = nullptr;   // for sink.collect
  std::FILE* stdout_file = stdout;  // for sink.stdout
  ConnectorHealth* health = nullptr;  // for connectors: endpoint problems, for status
  bool restored = false;  // the task starts from a checkpoint (Restore follows)
  const FileReach* file_reach = nullptr;  // sink.file: the folders it may write below
};

// Builds the sink for a `sink.*` operator kind from its config.
Result<std::unique_ptr<BatchSink>> MakeSink(const std::string& kind, const std::string& config_json,
                                            const SinkContext& context);

// The JS stages that run a sink operator's own functions (Kafka's key, value, partition; the
// Redis command; the MySQL row) at the
// end of its chain, before its BatchSink gets the batch; empty for sinks without functions.
std::vector<js::StageSpec> SinkFunctionStages(const std::string& kind,
                                              const std::string& operator_id,
                                              const std::string& operator_name,
                                              const std::map<std::string, std::string>& functions);

}  // namespace sluice::runtime
