#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/cluster_limits.h"
#include "common/ids.h"
#include "common/status.h"
#include "sluice/job_service.pb.h"
#include "sluice/worker_service.pb.h"
#include "worker/exchange/exchange.h"
#include "worker/js/js_engine.h"
#include "worker/runtime/batch_sink.h"
#include "worker/runtime/checkpointing.h"
#include "worker/runtime/exchange_io.h"
#include "worker/runtime/file_reach.h"
#include "worker/runtime/source_driver.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::runtime {

// How often time moves on in a task (processing-time timers, idle inputs) when nothing else
// happens; also the longest a task fed by others waits for input.
inline constexpr std::chrono::milliseconds kTaskTick{50};
// The batch of source.nexmark: C++ hands the chain only a run of indexes, so a bigger batch
// costs nothing there, and a combiner before a keyed exchange folds more of it (bench/RESULTS.md,
// branch `p2z`: q7 and q11 at parallelism 2 ~10 % less CPU than with the 4,096 of other
// sources; parallelism 1 unchanged). Nexmark's event times grow with the index, so no record is
// late whatever the batch; source.generator keeps 4,096: its function's times may be out of
// order, and which records are late depends on where the batches (and watermarks) fall.
inline constexpr int32_t kNexmarkBatchSize = 16384;

// What a task reports when it ends. Called once, from the task's own thread.
using TaskEndedCallback =
    std::function<void(const TaskId& task, proto::TaskState state, const std::string& failure)>;

// What the worker lends its tasks; every pointer outlives the tasks.
struct TaskServices {
  js::ChainRunnerFactory* engine = nullptr;
  ResultPusher* pusher = nullptr;
  std::FILE* stdout_file = stdout;
  TaskEndedCallback on_ended;
  std::function<void()> on_health_changed;  // a connector started or stopped retrying
  exchange::Router* router = nullptr;      // for channels to tasks on this worker
  std::string self_address;                // this worker's address: targets there are local
  exchange::PeerConnections* peers = nullptr;  // the connections to other workers' exchanges
  std::shared_ptr<exchange::Inbox> inbox;  // when upstream tasks feed this one
  std::string state_dir;  // a task with keyed state keeps its RocksDB below it
  CheckpointListener* checkpoints = nullptr;  // where its checkpoint acknowledgements go
  ClusterLimits limits;                        // the worker's maxima (task_limits.h)
  const FileReach* file_reach = nullptr;       // where file sources and sinks may go
  std::string driver_dir;  // where the task writes its generated JS driver; "": nowhere
};

// Removes a task's state directory when the task's parts go (after its database closed).
struct StateDirectory {
  std::string path;
  StateDirectory() = default;
  StateDirectory(StateDirectory&& other) noexcept : path(std::exchange(other.path, {})) {}
  StateDirectory& operator=(StateDirectory&&) = delete;
  ~StateDirectory();
};

// Everything a running task is made of, built from its deployment by BuildTask. Owned by the
// task's thread for the task's run; destroyed in reverse order (the runner before the state it
// reads, the state before its directory is removed).
struct TaskParts {
  std::unique_ptr<BatchSink> sink;
  ExchangeSink* exchange_sink = nullptr;  // `sink`, when the chain feeds other tasks
  bool has_sink = false;                  // the chain ends in a sink operator
  std::unique_ptr<SourceDriver> source;
  InboxSource* inbox_source = nullptr;  // `source`, when upstream tasks feed the chain
  bool has_source = false;              // the chain starts with a source operator
  StateDirectory state_directory;
  std::unique_ptr<state::RocksStateBackend> state;  // when the chain has a keyed operator
  std::vector<std::string> keyed_operator_ids;       // the chain's keyed operators, in order
  std::unique_ptr<js::ChainRunner> runner;
};

// The resolved chain of a deployment: its operators in order, first to last.
struct ResolvedChain {
  std::vector<const proto::Operator*> operators;
  bool has_source = false;  // the first operator is a source
  bool has_sink = false;    // the last operator is a sink
};
Result<ResolvedChain> ResolveChain(const proto::TaskDeployment& deployment);

// What the chain's JS runner is built from: the stages (user functions, keyed operators, the
// sink's own functions), the input format and the output partitioning.
js::ChainSpec MakeChainSpec(const proto::TaskDeployment& deployment, const ResolvedChain& chain,
                            js::OutputMode output);

// Builds a task's parts from its deployment: the sink (or the exchange to downstream tasks),
// the source (or the inbox), the keyed state (fresh, or restored from the deployment's
// checkpoint), the JS runner, and a restored sink's pending epochs. On the task thread.
// `cancel` and `health` belong to the task and outlive the parts.
Result<TaskParts> BuildTask(const proto::TaskDeployment& deployment, const TaskServices& services,
                            CancelSignal& cancel, ConnectorHealth& health);

// Writes the JS driver that `spec` compiles to into <dir>/<task>.js ('/' and '#' of the task id
// become '.' and ".attempt"), for a reader; a chain the engine refuses writes nothing (the
// engine says why). An error names the file.
Status WriteDriverFile(const std::string& dir, const TaskId& task, const js::ChainSpec& spec);

// "operator 'name' (id)", how errors name an operator.
std::string OperatorLabel(const proto::Operator& op);

}  // namespace sluice::runtime
