#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

// Where an operator kind sits in a pipeline.
enum class OperatorRole { kSource, kTransform, kSink };

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
  // A stateless transform the chain's driver runs inline, one user function per record.
  bool inline_stage = false;
};

// Every operator kind this version runs, immutable; any thread.
const std::vector<OperatorKindTraits>& AllOperatorKinds();
// The row for `kind`, or nullptr when this version does not know it.
const OperatorKindTraits* FindOperatorKindTraits(std::string_view kind);
bool IsSourceKind(std::string_view kind);
bool IsSinkKind(std::string_view kind);

}  // namespace sluice
