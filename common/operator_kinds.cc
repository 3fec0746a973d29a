#include "common/operator_kinds.h"

namespace sluice {

const std::vector<OperatorKindTraits>& AllOperatorKinds() {
  using R = OperatorRole;
  // In the order error messages list them ("known kinds: ...").
  static const std::vector<OperatorKindTraits> kKinds = {
      {"source.file", R::kSource},
      {"source.generator", R::kSource},
      {"source.nexmark", R::kSource},
      {"map", R::kTransform, false, 1, "", true},
      {"filter", R::kTransform, false, 1, "", true},
      {"flat_map", R::kTransform, false, 1, "", true},
      {"union", R::kTransform},
      {"assign_timestamps", R::kTransform, false, 1, "", true},
      {"reduce", R::kTransform, true, 1, "keyed"},
      {"aggregate", R::kTransform, true, 1, "keyed"},
      {"window", R::kTransform, true, 1, "windows"},
      {"window_join", R::kTransform, true, 2, "joins"},
      {"interval_join", R::kTransform, true, 2, "joins"},
      {"process", R::kTransform, true, 1, "process"},
      {"sink.stdout", R::kSink},
      {"sink.file", R::kSink},
      {"sink.collect", R::kSink},
      {"sink.discard", R::kSink},
      {"sink.redis", R::kSink},
      {"sink.mysql", R::kSink},
      {"source.kafka", R::kSource},
      {"sink.kafka", R::kSink},
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

}  // namespace sluice
