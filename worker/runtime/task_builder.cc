#include "worker/runtime/task_builder.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string_view>

#include "common/job_defaults.h"
#include "common/key_partitioning.h"
#include "common/operator_kinds.h"
#include "worker/js/chain_program.h"
#include "worker/runtime/chain_links.h"
#include "worker/runtime/task_checkpointer.h"
#include "worker/runtime/task_limits.h"
#include "worker/state/key_groups.h"
#include "worker/state/rocks_state_backend.h"

namespace sluice::runtime {
namespace {

Result<std::unique_ptr<BatchSink>> BuildSink(const proto::TaskDeployment& deployment,
                                             const ResolvedChain& chain,
                                             const TaskServices& services,
                                             ConnectorHealth& health, TaskParts& parts) {
  const TaskId task(deployment.task_id());
  if (chain.has_sink) {
    const proto::Operator& last = *chain.operators.back();
    SinkContext context;
    context.job = JobId(deployment.job_id());
    context.task = task;
    context.operator_label = OperatorLabel(last);
    context.operator_id = last.id();
    context.subtask = deployment.subtask();
    context.parallelism = deployment.parallelism();
    context.pusher = services.pusher;
    context.stdout_file = services.stdout_file;
    context.health = &health;
    context.restored = deployment.has_restore();
    context.file_reach = services.file_reach;
    return MakeSink(last.kind(), last.config_json(), context);
  }
  auto connected = ExchangeSink::Connect(deployment.outputs(), *services.router,
                                         services.self_address, "task " + task.str(),
                                         services.peers);
  if (!connected.ok()) return connected.status();
  parts.exchange_sink = connected->get();
  return std::unique_ptr<BatchSink>(std::move(connected).value());
}

Result<std::unique_ptr<SourceDriver>> BuildSource(const proto::TaskDeployment& deployment,
                                                  const ResolvedChain& chain,
                                                  const TaskServices& services,
                                                  CancelSignal& cancel, ConnectorHealth& health,
                                                  TaskParts& parts) {
  if (chain.has_source) {
    const proto::Operator& first = *chain.operators.front();
    SourceContext context{OperatorLabel(first), deployment.subtask(),
                          std::max(1u, deployment.parallelism()), &cancel};
    context.health = &health;
    context.file_reach = services.file_reach;
    context.max_line_bytes = services.limits.max_line_bytes;
    if (first.kind() == "source.nexmark") context.batch_size = kNexmarkBatchSize;
    if (deployment.has_restore()) {
      context.restore_positions = SourcePositions(deployment.restore(), first.id());
    }
    return MakeSourceDriver(first.kind(), first.config_json(), context);
  }
  std::vector<uint32_t> channel_inputs(deployment.channel_inputs().begin(),
                                       deployment.channel_inputs().end());
  // Channels running ahead are held back only where their records would wait in keyed state
  // (windows, joins, timers) for the slowest channel's watermark; elsewhere it only delays.
  bool keyed = false;
  for (const proto::Operator* op : chain.operators) {
    const OperatorKindTraits* traits = FindOperatorKindTraits(op->kind());
    keyed = keyed || (traits != nullptr && traits->keyed);
  }
  auto inbox_source = std::make_unique<InboxSource>(services.inbox, std::move(channel_inputs),
                                                    kTaskTick, !deployment.at_least_once(),
                                                    keyed ? kMaxChannelLead : -1);
  parts.inbox_source = inbox_source.get();
  return std::unique_ptr<SourceDriver>(std::move(inbox_source));
}

// Keyed state: one RocksDB per task, two column families per keyed operator of the chain (its
// state and its timers, see OpenTaskState). It lives as long as the task; checkpoints copy it
// (RocksDB checkpoints) and a restored task starts from such a copy.
Status OpenKeyedState(const proto::TaskDeployment& deployment, const TaskServices& services,
                      const ResolvedChain& chain, js::ChainSpec& spec, TaskParts& parts) {
  std::vector<std::string> keyed;
  for (const js::StageSpec& stage : spec.stages) {
    if (!js::KeyedLibrary(stage.kind).empty()) keyed.push_back(stage.operator_id);
  }
  if (keyed.empty()) return Status::Ok();
  parts.state_directory.path =
      services.state_dir + "/" + TaskFileName(TaskId(deployment.task_id()));
  auto opened = OpenTaskState(deployment, parts.state_directory.path, keyed);
  if (!opened.ok()) {
    std::string label = keyed.front();
    for (const proto::Operator* op : chain.operators) {
      if (op->id() == keyed.front()) label = OperatorLabel(*op);
    }
    return opened.status().WithContext(label + ": keyed state");
  }
  parts.state = std::move(opened).value();
  parts.keyed_operator_ids = std::move(keyed);
  spec.restore_state = deployment.has_restore();
  return Status::Ok();
}

// A keyed operator after the chain's first operator takes its records from a keyBy edge the
// planner chained (coordinator/planner.cc): its key selector is that edge's. The first keyed
// operator's goes in input_key_fns; every one's in its stage (MakeChainSpec), with whether the
// edge is already partitioned (common/key_partitioning.h).
struct ChainedKey {
  std::string key_fn;
  bool already_partitioned = false;
};
std::map<std::string, ChainedKey> ChainedKeys(const proto::JobSpec& job, const ResolvedChain& chain,
                                              js::ChainSpec& spec) {
  std::map<std::string, ChainedKey> by_operator;
  bool first = true;
  for (size_t i = 0; i < chain.operators.size(); ++i) {
    const OperatorKindTraits* traits = FindOperatorKindTraits(chain.operators[i]->kind());
    if (traits == nullptr || !traits->keyed) continue;
    for (const proto::Edge& edge : job.edges()) {
      if (i > 0 && edge.from() == chain.operators[i - 1]->id() &&
          edge.to() == chain.operators[i]->id()) {
        by_operator[chain.operators[i]->id()] = {
            edge.key_fn(), AlreadyPartitioned(*chain.operators[i - 1], edge)};
        if (first) {
          spec.input_key_fn = edge.key_fn();
          spec.input_key_fns = {edge.key_fn()};
          spec.keyed_input_in_chain = true;
        }
      }
    }
    first = false;
  }
  return by_operator;
}

}  // namespace

StateDirectory::~StateDirectory() {
  std::error_code ignored;
  if (!path.empty()) std::filesystem::remove_all(path, ignored);
}

std::string OperatorLabel(const proto::Operator& op) {
  return "operator '" + op.name() + "' (" + op.id() + ")";
}

Result<ResolvedChain> ResolveChain(const proto::TaskDeployment& deployment) {
  const std::string task = deployment.task_id();
  std::map<std::string, const proto::Operator*> by_id;
  for (const auto& op : deployment.spec().operators()) by_id[op.id()] = &op;
  ResolvedChain chain;
  for (const auto& id : deployment.operator_ids()) {
    auto it = by_id.find(id);
    if (it == by_id.end()) return Status::Internal("task " + task + ": no operator " + id);
    chain.operators.push_back(it->second);
  }
  if (chain.operators.empty()) return Status::Internal("task " + task + " has no operators");
  chain.has_source = IsSourceKind(chain.operators.front()->kind());
  chain.has_sink = IsSinkKind(chain.operators.back()->kind());
  return chain;
}

js::ChainSpec MakeChainSpec(const proto::TaskDeployment& deployment, const ResolvedChain& chain,
                            js::OutputMode output) {
  const proto::JobSpec& job = deployment.spec();
  const proto::Operator& first = *chain.operators.front();
  js::ChainSpec spec;
  spec.text_format =
      chain.has_source ? SourceTextFormat(first.kind(), first.config_json()) : "json";
  spec.output = output;
  spec.max_parallelism = EffectiveMaxParallelism(job);
  if (spec.output == js::OutputMode::kPartitioned) {
    spec.outputs = PartitionSpecs(deployment.outputs(), deployment.subtask(), spec.max_parallelism);
    NameKeyOperators(deployment, &spec.outputs);
    // SLUICE_EXCHANGE_CODEC=json in a worker's environment sends JSON lines only (to compare;
    // receivers read both formats either way).
    const char* codec = std::getenv("SLUICE_EXCHANGE_CODEC");
    if (codec != nullptr && std::string_view(codec) == "json") {
      spec.codec = js::BatchCodec::kJsonLines;
    }
  }
  spec.input_key_fn = deployment.input_key_fn();
  spec.input_key_fns.assign(deployment.input_key_fns().begin(),
                            deployment.input_key_fns().end());
  spec.combined_input = deployment.combined_input();
  const bool dag = IsDagChain(job, chain.operators);
  const std::map<std::string, ChainedKey> chained_keys =
      dag ? std::map<std::string, ChainedKey>() : ChainedKeys(job, chain, spec);
  spec.subtask = deployment.subtask();
  spec.parallelism = std::max(1u, deployment.parallelism());
  if (auto owned = state::KeyGroupRangeOf(spec.subtask, spec.parallelism, spec.max_parallelism);
      owned.ok()) {
    spec.first_key_group = owned->first;
    spec.last_key_group = owned->last;
  }
  std::vector<int> stage_of(chain.operators.size(), -1);  // each operator's first stage
  if (job.state_cache_entries() > 0) spec.state_cache_entries = job.state_cache_entries();
  spec.params_json = job.params_json().empty() ? "{}" : job.params_json();
  for (size_t i = 0; i < chain.operators.size(); ++i) {
    const proto::Operator& op = *chain.operators[i];
    if (chain.has_sink && i + 1 == chain.operators.size()) {
      stage_of[i] = static_cast<int>(spec.stages.size());
      std::map<std::string, std::string> functions(op.functions().begin(), op.functions().end());
      for (auto& stage : SinkFunctionStages(op.kind(), op.id(), op.name(), functions)) {
        spec.stages.push_back(std::move(stage));
      }
      break;
    }
    // A kind with no stage in the chain (union: merging inputs is the exchange's work).
    const OperatorKindTraits* traits = FindOperatorKindTraits(op.kind());
    if (traits != nullptr && traits->role == OperatorRole::kTransform && !traits->keyed &&
        traits->inline_stage == InlineStage::kNone) {
      continue;
    }
    stage_of[i] = static_cast<int>(spec.stages.size());
    js::StageSpec stage{op.id(), op.name(), op.kind(), op.config_json(), {}};
    for (const auto& [role, source_text] : op.functions()) stage.functions[role] = source_text;
    if (auto key = chained_keys.find(op.id()); key != chained_keys.end()) {
      stage.chained_key_fn = key->second.key_fn;
      stage.partitioned_input = key->second.already_partitioned && spec.parallelism > 1;
    }
    spec.stages.push_back(std::move(stage));
  }
  if (dag) LinkDagChain(job, chain.operators, stage_of, spec);
  return spec;
}

Result<TaskParts> BuildTask(const proto::TaskDeployment& deployment, const TaskServices& services,
                            CancelSignal& cancel, ConnectorHealth& health) {
  auto chain = ResolveChain(deployment);
  if (!chain.ok()) return chain.status();
  const std::string task = deployment.task_id();
  if (!chain->has_source && services.inbox == nullptr) {
    return Status::Internal("task " + task + " has neither a source nor an input");
  }
  if (!chain->has_sink && (services.router == nullptr || deployment.outputs_size() == 0)) {
    return Status::Internal("task " + task + " has neither a sink nor outputs");
  }
  TaskParts parts;
  parts.has_source = chain->has_source;
  parts.has_sink = chain->has_sink;
  auto sink = BuildSink(deployment, *chain, services, health, parts);
  if (!sink.ok()) return sink.status();
  parts.sink = std::move(sink).value();
  // From here on a failure cancels the sink (an exchange sink's senders, a connector's client).
  auto fail = [&](Status status) -> Result<TaskParts> {
    parts.sink->Cancel();
    return status;
  };
  auto source = BuildSource(deployment, *chain, services, cancel, health, parts);
  if (!source.ok()) return fail(source.status());
  parts.source = std::move(source).value();

  auto limits = TaskJsLimits(deployment.spec(), services.limits);
  if (!limits.ok()) return fail(limits.status());
  js::ChainSpec spec = MakeChainSpec(deployment, *chain, parts.sink->output_mode());
  spec.max_record_bytes = services.limits.max_record_bytes;
  if (Status opened = OpenKeyedState(deployment, services, *chain, spec, parts); !opened.ok()) {
    return fail(opened);
  }
  // What the engine is about to compile, for a reader (--driver-dir).
  if (!services.driver_dir.empty()) {
    Status written = WriteDriverFile(services.driver_dir, TaskId(deployment.task_id()), spec);
    if (!written.ok()) return fail(written);
  }
  auto runner = services.engine->Create(spec, *limits, parts.state.get());
  if (!runner.ok()) return fail(runner.status());
  parts.runner = std::move(runner).value();
  if (Status restored = RestoreSink(deployment, *chain->operators.back(), parts); !restored.ok()) {
    return fail(restored);
  }
  return parts;
}

Status WriteDriverFile(const std::string& dir, const TaskId& task, const js::ChainSpec& spec) {
  Result<js::ChainProgram> program = js::BuildChainProgram(spec);
  if (!program.ok()) return Status::Ok();
  std::string name;
  for (char c : task.str()) {
    if (c == '/') {
      name += '.';
    } else if (c == '#') {
      name += ".attempt";
    } else {
      name += c;
    }
  }
  const std::string path = dir + "/" + name + ".js";
  std::error_code made;
  std::filesystem::create_directories(dir, made);
  std::ofstream out(path, std::ios::trunc);
  out << "// Task " << task.str() << "\n" << program->driver_source;
  out.close();
  if (made || !out) {
    return Status::User("cannot write the JS driver of task " + task.str() + " to " + path +
                        (made ? ": " + made.message() : std::string()));
  }
  return Status::Ok();
}

}  // namespace sluice::runtime
