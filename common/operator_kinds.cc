#include "common/operator_kinds.h"

namespace sluice {

const std::vector<OperatorKindTraits>& AllOperatorKinds() {
  using R = OperatorRole;
  using I = InlineStage;
  using G = GeneratedRecords;
  // In the order error messages list them ("known kinds: ...").
  static const std::vector<OperatorKindTraits> kKinds = {
      {.name = "source.file", .role = R::kSource, .reads_files = true},
      {.name = "source.generator", .role = R::kSource, .generated = G::kUserFunction},
      {.name = "source.nexmark", .role = R::kSource, .generated = G::kNexmark},
      {.name = "map", .role = R::kTransform, .inline_stage = I::kMap},
      {.name = "filter", .role = R::kTransform, .inline_stage = I::kFilter},
      {.name = "flat_map", .role = R::kTransform, .inline_stage = I::kFlatMap},
      {.name = "union", .role = R::kTransform},
      {.name = "assign_timestamps", .role = R::kTransform, .inline_stage = I::kAssignTimestamps},
      {.name = "reduce", .role = R::kTransform, .keyed = true, .js_library = "keyed"},
      {.name = "aggregate", .role = R::kTransform, .keyed = true, .js_library = "keyed"},
      {.name = "window", .role = R::kTransform, .keyed = true, .js_library = "windows",
       .late_output = true},
      {.name = "window_join", .role = R::kTransform, .keyed = true, .inputs = 2,
       .js_library = "joins"},
      {.name = "interval_join", .role = R::kTransform, .keyed = true, .inputs = 2,
       .js_library = "joins"},
      {.name = "process", .role = R::kTransform, .keyed = true, .js_library = "process"},
      {.name = "sink.stdout", .role = R::kSink},
      {.name = "sink.file", .role = R::kSink, .writes_files = true},
      {.name = "sink.collect", .role = R::kSink, .collects_results = true},
      {.name = "sink.discard", .role = R::kSink},
      {.name = "sink.redis", .role = R::kSink},
      {.name = "sink.mysql", .role = R::kSink},
      {.name = "source.kafka", .role = R::kSource},
      {.name = "sink.kafka", .role = R::kSink},
  };
  return kKinds;
}

const OperatorKindTraits* FindOperatorKindTraits(std::string_view kind) {
  for (const OperatorKindTraits& traits : AllOperatorKinds()) {
    if (traits.name == kind) return &traits;
  }
  return nullptr;
}

bool IsSourceKind(std::string_view kind) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(kind);
  return traits != nullptr && traits->role == OperatorRole::kSource;
}

bool IsSinkKind(std::string_view kind) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(kind);
  return traits != nullptr && traits->role == OperatorRole::kSink;
}

InlineStage InlineStageOf(std::string_view kind) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(kind);
  return traits == nullptr ? InlineStage::kNone : traits->inline_stage;
}

GeneratedRecords GeneratedRecordsOf(std::string_view kind) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(kind);
  return traits == nullptr ? GeneratedRecords::kNone : traits->generated;
}

bool HasLateOutput(std::string_view kind) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(kind);
  return traits != nullptr && traits->late_output;
}

bool CollectsResults(std::string_view kind) {
  const OperatorKindTraits* traits = FindOperatorKindTraits(kind);
  return traits != nullptr && traits->collects_results;
}

}  // namespace sluice
