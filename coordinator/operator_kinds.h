#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::coordinator {

// Where an operator kind sits in a pipeline.
enum class OperatorRole { kSource, kTransform, kSink };

// What a config field's value must be.
enum class ConfigFieldType {
  kAbsolutePath,        // a string starting with '/'
  kEnum,                // one of ConfigField::allowed
  kNonNegativeInteger,  // an integral JSON number >= 0
  kPositiveNumber,      // any JSON number > 0
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

// One entry of the operator catalogue (proto/README.md, "Operator kinds").
struct OperatorKind {
  std::string name;
  OperatorRole role;
  std::vector<ConfigField> config;
  std::vector<FunctionSlot> functions;
  // Keeps state per key: every input must be partitioned by key (a HASH edge, from keyBy).
  bool keyed = false;
  // For connectors whose config the field table cannot describe: checks the whole config object
  // instead of `config` (left empty) and appends each problem, phrased to follow the operator's
  // label (": config field ..."). The connector's own parser, so submit and run agree.
  void (*check_config)(const nlohmann::json& config, std::vector<std::string>* problems) = nullptr;
};

// The catalogue of every operator kind this version runs; later operators extend this one table.
// Built once on first use and immutable afterwards, so safe to read from any thread.
const std::vector<OperatorKind>& OperatorKinds();

// The catalogue entry for `kind`, or nullptr if this version does not know it.
const OperatorKind* FindOperatorKind(std::string_view kind);

// "source.file, source.generator, ...": the known kinds for error messages.
std::string KnownKindNames();

// "a non-negative integer", "an absolute path", ...: what a field expects, for error messages.
std::string DescribeFieldType(const ConfigField& field);

}  // namespace sluice::coordinator
