#include "worker/js/chain_program.h"

#include "common/operator_kinds.h"
#include "worker/js/chain_driver.h"
#include "worker/js/chain_driver_combiner.h"

#include <algorithm>

#include <string_view>

namespace sluice::js {
namespace {

bool IsStateless(const std::string &kind) { return InlineStageOf(kind) != InlineStage::kNone; }

bool IsSource(const std::string &kind) { return IsSourceKind(kind); }

}  // namespace

// The runtime library of a keyed operator kind, or "" when the kind is not keyed.
std::string KeyedLibrary(const std::string &kind) {
  const OperatorKindTraits *traits = FindOperatorKindTraits(kind);
  return traits == nullptr ? "" : std::string(traits->js_library);
}

std::vector<std::string> RuntimeLibraries(const ChainSpec &chain, const ChainProgram &program) {
  std::vector<std::string> names;
  const auto add = [&names](const std::string &name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  for (int k : program.keyed_stages) {
    const std::string library = KeyedLibrary(chain.stages[k].kind);
    add("timer_changes");
    add("timers");
    add("state");
    if (library == "windows") {  // the window operator's parts (runtime/windows.js)
      for (const char *part : {"window_config", "window_slices", "window_sessions"}) add(part);
    }
    if (library == "joins") {  // the window join's end timers and their format
      for (const char *part : {"window_config", "window_slices"}) add(part);
    }
    add(library);
  }
  if (AnyCombines(chain)) {
    add("window_config");
    add("combiner");
  }
  return names;
}

std::vector<std::string> OwnRuntimeLibraries(const ChainSpec &chain, const ChainProgram &program,
                                             int k) {
  const std::string library = KeyedLibrary(chain.stages[k].kind);
  bool shared = false;
  for (int earlier : program.keyed_stages) {
    if (earlier >= k) break;
    shared = shared || KeyedLibrary(chain.stages[earlier].kind) == library;
  }
  if (!shared) return {};
  if (library == "windows") return {"window_config", "window_slices", "window_sessions", library};
  if (library == "joins") return {"window_config", "window_slices", library};
  return {library};
}

namespace {

Status CheckStages(const ChainSpec &chain, ChainProgram *program) {
  for (size_t i = 0; i < chain.stages.size(); ++i) {
    const StageSpec &stage = chain.stages[i];
    const bool source = IsSource(stage.kind);
    const bool keyed = !KeyedLibrary(stage.kind).empty();
    if (!source && !keyed && !IsStateless(stage.kind)) {
      return Status::User("operator " + DescribeStage(stage) + ": kind '" + stage.kind +
                          "' cannot run in a JS chain");
    }
    if (source && i != 0) {
      return Status::User("operator " + DescribeStage(stage) + ": a source ('" + stage.kind +
                          "') must be the first stage of a chain");
    }
    std::map<std::string, std::string> functions;
    for (const auto &[role, text] : stage.functions) {
      if (!text.empty()) functions[role] = text;
    }
    if (IsStateless(stage.kind) && functions.count("fn") == 0) {
      return Status::User("operator " + DescribeStage(stage) + ": " + stage.kind +
                          " needs a function 'fn'");
    }
    // A source's functions run here only when it builds its records with them.
    if (source && GeneratedRecordsOf(stage.kind) != GeneratedRecords::kUserFunction) {
      functions.clear();
    }
    program->functions.push_back(std::move(functions));
    if (!keyed) continue;
    program->keyed_stages.push_back(static_cast<int>(i));
    if (chain.dag && !stage.chained_key_fns.empty()) {
      for (const std::string &fn : stage.chained_key_fns) {
        if (fn.empty()) {
          return Status::User("operator " + DescribeStage(stage) + ": an input of " +
                              stage.kind + " inside its chain has no key selector");
        }
      }
      if (program->input_key_stage >= 0) continue;
    } else if (chain.dag && program->input_key_stage >= 0) {
      return Status::Internal("operator " + DescribeStage(stage) +
                              ": a keyed stage of a DAG chain without chained key selectors");
    }
    if (program->input_key_stage >= 0) {  // a later keyed stage: keyed by a chained keyBy
      if (stage.chained_key_fn.empty()) {
        return Status::User("operator " + DescribeStage(stage) + ": a keyed operator after " +
                            "another in its chain needs the key selector of the edge feeding it");
      }
      continue;
    }
    const size_t first_transform = !chain.stages.empty() && IsSource(chain.stages[0].kind) ? 1 : 0;
    if (i != first_transform && !chain.keyed_input_in_chain) {
      return Status::User("operator " + DescribeStage(stage) + ": a keyed operator must take the " +
                          "records as they arrive, not after other operators of its chain");
    }
    program->input_key_stage = static_cast<int>(i);
    program->input_key_fns = chain.input_key_fns;
    if (program->input_key_fns.empty() && !chain.input_key_fn.empty()) {
      program->input_key_fns.push_back(chain.input_key_fn);
    }
    if (program->input_key_fns.empty()) {
      return Status::User("operator " + DescribeStage(stage) + ": " + stage.kind +
                          " needs keyed input (a key selector on the edge feeding it)");
    }
    for (const std::string &fn : program->input_key_fns) {
      if (fn.empty()) {
        return Status::User("operator " + DescribeStage(stage) + ": an input of " + stage.kind +
                            " is not keyed (a key selector on every edge feeding it)");
      }
    }
    if (chain.max_parallelism == 0) {
      return Status::Internal("a keyed chain with max_parallelism 0");
    }
  }
  if (chain.text_format != "lines" && chain.text_format != "json") {
    return Status::User("text format '" + chain.text_format + "' is not \"lines\" or \"json\"");
  }
  return Status::Ok();
}

// program->next and links_in: a line, or the DAG's links (each to a later stage or the output).
Status CheckLinks(const ChainSpec &chain, ChainProgram *program) {
  const int n = static_cast<int>(chain.stages.size());
  program->next.assign(n, {});
  program->links_in.assign(n + 1, 0);
  for (int i = 0; i < n; ++i) {
    if (!chain.dag) {
      program->next[i] = {{i + 1, 0}};
    } else {
      program->next[i] = chain.stages[i].next;
      if (program->next[i].empty()) {
        return Status::Internal("stage " + std::to_string(i) + " of a DAG chain leads nowhere");
      }
    }
    for (const StageLink &link : program->next[i]) {
      if (link.stage <= i || link.stage > n) {
        return Status::Internal("stage " + std::to_string(i) + " of a DAG chain links to stage " +
                                std::to_string(link.stage));
      }
      ++program->links_in[link.stage];
    }
  }
  return Status::Ok();
}

Status CheckOutputs(const ChainSpec &chain, ChainProgram *program) {
  program->output_key_stage = static_cast<int>(chain.stages.size()) - 1;
  if (chain.output != OutputMode::kPartitioned) return Status::Ok();
  // These come from the planner, not from the user: a bad one is our bug.
  if (chain.outputs.empty()) return Status::Internal("a partitioned chain without outputs");
  for (size_t e = 0; e < chain.outputs.size(); ++e) {
    const PartitionSpec &edge = chain.outputs[e];
    const std::string what = "output edge " + std::to_string(e) + " of the chain";
    if (edge.targets == 0) return Status::Internal(what + " has no targets");
    if (edge.partitioning == Partitioning::kForward && edge.subtask >= edge.targets) {
      return Status::Internal(what + " is forward from subtask " + std::to_string(edge.subtask) +
                              " to " + std::to_string(edge.targets) + " targets");
    }
    if (edge.partitioning == Partitioning::kHash) {
      if (edge.key_fn.empty()) return Status::Internal(what + " is hashed without a key selector");
      if (edge.max_parallelism == 0) return Status::Internal(what + " has max_parallelism 0");
    }
    if (edge.late && (chain.stages.empty() || !HasLateOutput(chain.stages.back().kind))) {
      return Status::Internal(what + " carries late records but the chain does not end in a window");
    }
    program->output_key_fns.push_back(edge.partitioning == Partitioning::kHash ? edge.key_fn : "");
  }
  return Status::Ok();
}

}  // namespace

std::string DescribeStage(const StageSpec &stage) {
  return "'" + stage.operator_name + "' (" + stage.operator_id + ")";
}

Result<ChainProgram> BuildChainProgram(const ChainSpec &chain) {
  ChainProgram program;
  SLUICE_RETURN_IF_ERROR(CheckStages(chain, &program));
  const std::string first_kind = chain.stages.empty() ? "" : chain.stages[0].kind;
  switch (GeneratedRecordsOf(first_kind)) {
    case GeneratedRecords::kUserFunction: program.source = SourceKind::kGenerator; break;
    case GeneratedRecords::kNexmark: program.source = SourceKind::kNexmark; break;
    case GeneratedRecords::kNone: break;
  }
  program.has_source_stage = IsSource(first_kind);
  if (program.input_key_stage >= 0 && program.source != SourceKind::kText &&
      !chain.keyed_input_in_chain) {
    return Status::User("operator " + DescribeStage(chain.stages[program.input_key_stage]) +
                        ": a keyed operator needs keyed input, not a generated source");
  }
  SLUICE_RETURN_IF_ERROR(CheckOutputs(chain, &program));
  SLUICE_RETURN_IF_ERROR(CheckLinks(chain, &program));

  WriteDriver(chain, program, &program.driver_source);
  return program;
}

}  // namespace sluice::js
