#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Where an operator kind sits in a pipeline.
enum class OperatorRole { kSource, kTransform, kSink };

// A stateless transform the chain's driver runs inline, one user function per record, and how.
enum class InlineStage { kNone, kMap, kFilter, kFlatMap, kAssignTimestamps };

// A source whose records the chain builds itself from their indexes (ChainRunner::RunGenerated),
// and with what: the user's function (source.generator) or the Nexmark generator.
enum class GeneratedRecords { kNone, kUserFunction, kNexmark };

// What every part of Sluice knows about an operator kind, in one table for the coordinator
// (validation, planning, checkpoints) and the worker (tasks, the JS chain). Each side adds its
// own: the coordinator's config fields and checks (coordinator/operator_kinds.h), the worker's
// source and sink factories (worker/io/io_kinds.h). A new kind is a row here first.
struct OperatorKindTraits {
  std::string_view name;
  OperatorRole role;
  // Keeps state per key: every input must be partitioned by key (a HASH edge, from keyBy).
  bool keyed = false;
  // How many inputs it has (edges name theirs with Edge.input): 2 for joins.
  uint32_t inputs = 1;
  // A keyed kind's runtime library in the task's isolate (worker/js/runtime/<name>.js).
  std::string_view js_library;
  InlineStage inline_stage = InlineStage::kNone;
  GeneratedRecords generated = GeneratedRecords::kNone;
  // A sink whose records go back to the client that ran the job (`sluice run`, the results API).
  bool collects_results = false;
  // Reads or writes files of the worker's (within --allow-path; lines within --max-line-bytes).
  bool reads_files = false;
  bool writes_files = false;
  // May send the records it finds too late down a side output "late" (config lateOutput).
  bool late_output = false;
};

// What a config field's value must be.
enum class ConfigFieldType {
  kAbsolutePath,        // a string starting with '/'
  kEnum,                // one of ConfigField::allowed
  kNonNegativeInteger,  // an integral JSON number >= 0
  kPositiveNumber,      // any JSON number > 0
  kNumber,              // any JSON number
  kBoolean,             // true or false
  kObject,              // a JSON object (its kind's check looks inside)
};

struct ConfigField {
  std::string name;
  ConfigFieldType type;
  bool required = false;
  std::vector<std::string> allowed;  // with kEnum: the accepted strings
};

// A user function an operator kind takes, by role ("fn", later "create", "add", ...).
struct FunctionSlot {
  std::string role;
  bool required = false;
};

// For kinds whose config a field table cannot describe (the connectors): checks the whole config
// object and appends each problem, phrased to follow the operator's label (": config field
// ..."). The connector's own parser, so that submit and run agree.
using CheckConfigFn = void (*)(const nlohmann::json& config, std::vector<std::string>* problems);

// How a source or sink kind's config and functions are checked at submit: the half of its entry
// in the worker's registry (worker/io/io_kinds.h) that the coordinator's catalogue reads.
struct IoKindChecks {
  std::vector<ConfigField> config;
  std::vector<FunctionSlot> functions;
  CheckConfigFn check_config = nullptr;
};

// Every operator kind this version runs, immutable; any thread.
const std::vector<OperatorKindTraits>& AllOperatorKinds();
// The row for `kind`, or nullptr when this version does not know it.
const OperatorKindTraits* FindOperatorKindTraits(std::string_view kind);
bool IsSourceKind(std::string_view kind);
bool IsSinkKind(std::string_view kind);
// The row's InlineStage, GeneratedRecords and collects_results; kNone/false for an unknown kind.
InlineStage InlineStageOf(std::string_view kind);
GeneratedRecords GeneratedRecordsOf(std::string_view kind);
bool CollectsResults(std::string_view kind);
bool HasLateOutput(std::string_view kind);

}  // namespace sluice
