#include "coordinator/operator_kinds.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>

#include "coordinator/operator_checks.h"
#include "worker/runtime/worker_io_kinds.h"

namespace sluice::coordinator {
namespace {

// The transforms' checks; sources and sinks bring theirs in their registry entry (IoKindFor).
std::vector<OperatorKind> BuildCatalogue() {
  const FunctionSlot required_fn{"fn", true};
  auto count = [](std::string name) {
    return ConfigField{std::move(name), ConfigFieldType::kNonNegativeInteger, false, {}};
  };
  return {
      {"map", {}, {required_fn}},
      {"filter", {}, {required_fn}},
      {"flat_map", {}, {required_fn}},
      {"union", {}, {}},
      {"assign_timestamps", {count("maxOutOfOrderness"), count("idleTimeout")}, {required_fn}},
      {"reduce", {}, {required_fn}},
      {"aggregate", {}, {{"create", true}, {"add", true}, {"merge", false}, {"result", false}}},
      {"window",
       {{"assigner", ConfigFieldType::kObject, true, {}},
        {"time", ConfigFieldType::kEnum, false, {"event", "processing"}},
        {"trigger", ConfigFieldType::kObject, false, {}},
        count("allowedLateness"),
        {"lateOutput", ConfigFieldType::kBoolean, false, {}},
        {"function", ConfigFieldType::kEnum, true, {"reduce", "aggregate", "count"}}},
       {{"reduce", false}, {"create", false}, {"add", false}, {"merge", false}, {"result", false}},
       &CheckWindow},
      {"window_join", {{"assigner", ConfigFieldType::kObject, true, {}}}, {{"apply", true}},
       &CheckWindowJoin},
      {"interval_join",
       {{"lower", ConfigFieldType::kNumber, true, {}}, {"upper", ConfigFieldType::kNumber, true, {}}},
       {{"apply", true}},
       &CheckIntervalJoin},
      {"process", {}, {{"processElement", true}, {"onTimer", false}}},
  };
}

// A source's or sink's catalogue entry: the checks of its one entry in the worker's registry,
// beside its factory. Null when the registry has no such kind.
std::optional<OperatorKind> IoKindFor(const OperatorKindTraits& traits) {
  const std::string name(traits.name);
  const runtime::IoKinds& io = runtime::WorkerIoKinds();
  const IoKindChecks* checks = nullptr;
  if (traits.role == OperatorRole::kSource && io.source(name) != nullptr) {
    checks = &io.source(name)->checks;
  } else if (traits.role == OperatorRole::kSink && io.sink(name) != nullptr) {
    checks = &io.sink(name)->checks;
  }
  if (checks == nullptr) return std::nullopt;
  return OperatorKind{name, checks->config, checks->functions, nullptr, checks->check_config};
}

// The coordinator's checks joined with the shared table's role, keyedness and inputs; a kind in
// one and not the other is a programming error, caught by the first use (and the unit tests).
std::vector<OperatorKind> JoinWithSharedTable(std::vector<OperatorKind> catalogue) {
  std::vector<OperatorKind> joined;
  for (const OperatorKindTraits& traits : AllOperatorKinds()) {
    if (traits.role != OperatorRole::kTransform) {
      std::optional<OperatorKind> io = IoKindFor(traits);
      if (!io.has_value()) {
        std::fprintf(stderr, "sluice: operator kind '%s' is not in the worker's registry\n",
                     std::string(traits.name).c_str());
        std::abort();
      }
      catalogue.push_back(std::move(*io));
    }
    auto it = std::find_if(catalogue.begin(), catalogue.end(),
                           [&](const OperatorKind& kind) { return kind.name == traits.name; });
    if (it == catalogue.end()) {
      std::fprintf(stderr, "sluice: operator kind '%s' has no coordinator checks\n",
                   std::string(traits.name).c_str());
      std::abort();
    }
    it->role = traits.role;
    it->keyed = traits.keyed;
    it->inputs = traits.inputs;
    joined.push_back(std::move(*it));
    catalogue.erase(it);
  }
  if (!catalogue.empty()) {
    std::fprintf(stderr, "sluice: operator kind '%s' is not in common/operator_kinds.cc\n",
                 catalogue.front().name.c_str());
    std::abort();
  }
  return joined;
}

}  // namespace

const std::vector<OperatorKind>& OperatorKinds() {
  static const std::vector<OperatorKind> kCatalogue = JoinWithSharedTable(BuildCatalogue());
  return kCatalogue;
}

const OperatorKind* FindOperatorKind(std::string_view kind) {
  for (const OperatorKind& entry : OperatorKinds()) {
    if (entry.name == kind) return &entry;
  }
  return nullptr;
}

std::string KnownKindNames() {
  std::string names;
  for (const OperatorKind& entry : OperatorKinds()) {
    if (!names.empty()) names += ", ";
    names += entry.name;
  }
  return names;
}

std::string DescribeFieldType(const ConfigField& field) {
  switch (field.type) {
    case ConfigFieldType::kAbsolutePath:
      return "an absolute path (a string starting with '/')";
    case ConfigFieldType::kNonNegativeInteger:
      return "a non-negative integer";
    case ConfigFieldType::kPositiveNumber:
      return "a positive number";
    case ConfigFieldType::kNumber:
      return "a number";
    case ConfigFieldType::kBoolean:
      return "true or false";
    case ConfigFieldType::kObject:
      return "a JSON object";
    case ConfigFieldType::kEnum: {
      std::string text = "one of";
      for (size_t i = 0; i < field.allowed.size(); ++i) {
        text += (i == 0 ? " \"" : ", \"") + field.allowed[i] + "\"";
      }
      return text;
    }
  }
  return "a valid value";
}

}  // namespace sluice::coordinator
