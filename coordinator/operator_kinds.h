#pragma once

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/operator_kinds.h"

namespace sluice::coordinator {

using sluice::CheckConfigFn;
using sluice::ConfigField;
using sluice::ConfigFieldType;
using sluice::FunctionSlot;
using sluice::OperatorRole;

// One entry of the operator catalogue (proto/README.md, "Operator kinds"): what the
// coordinator checks in a kind's config and functions. Role, keyedness and inputs come from the
// shared table (common/operator_kinds.h), so coordinator and worker cannot disagree on them; a
// source's or sink's config, functions and check_config come from its one entry in the worker's
// registry (worker/io/io_kinds.h), beside its factory.
struct OperatorKind {
  std::string name;
  std::vector<ConfigField> config;
  std::vector<FunctionSlot> functions;
  // Checks that need more than one field at a time (operator_checks.cc): each problem is a
  // message to follow the operator's name, starting with ": ".
  std::vector<std::string> (*check)(const nlohmann::json& config,
                                    const std::map<std::string, std::string>& functions) = nullptr;
  // For connectors whose config the field table cannot describe: checks the whole config object
  // instead of `config` (left empty) and appends each problem, phrased to follow the operator's
  // label (": config field ..."). The connector's own parser, so submit and run agree.
  CheckConfigFn check_config = nullptr;
  // From the shared table.
  OperatorRole role = OperatorRole::kTransform;
  // Keeps state per key: every input must be partitioned by key (a HASH edge, from keyBy).
  bool keyed = false;
  // How many inputs it has (edges name theirs with Edge.input): 2 for joins.
  uint32_t inputs = 1;
};

// The catalogue of every operator kind this version runs: one entry per row of the shared table.
// Built once on first use and immutable afterwards, so safe to read from any thread.
const std::vector<OperatorKind>& OperatorKinds();

// The catalogue entry for `kind`, or nullptr if this version does not know it.
const OperatorKind* FindOperatorKind(std::string_view kind);

// "source.file, source.generator, ...": the known kinds for error messages.
std::string KnownKindNames();

// "a non-negative integer", "an absolute path", ...: what a field expects, for error messages.
std::string DescribeFieldType(const ConfigField& field);

}  // namespace sluice::coordinator
