#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::redis {

// One Redis command as its arguments, the name first: {"SET", "user:1", "42"}. Arguments are
// binary-safe strings.
using RedisCommand = std::vector<std::string>;

// Appends the commands in what the sink's function returned for one record (one JSON line):
//   ["SET", "k", 1]                       one command: a name, then strings and numbers
//   [["HSET", "h", "f", 1], ["EXPIRE", "h", 60]]   several commands
//   null or []                            no command
// Numbers become their JavaScript text (String(n)). On bad input returns a user-domain Status
// whose message says what is wrong, without an operator label.
Status AppendCommands(std::string_view json_line, std::vector<RedisCommand>* commands);

// Appends the commands of every line of a batch (JSON lines, each ending in '\n'). Errors
// name `label` (the operator) and quote the offending record.
Status DecodeCommandBatch(std::string_view json_lines, const std::string& label,
                          std::vector<RedisCommand>* commands);

// The command for messages: its name and arguments, each argument quoted and cut after 64
// bytes, at most 8 arguments: SET "user:1" "42".
std::string DescribeCommand(const RedisCommand& command);

// A double as JavaScript's String(n) writes it: "0.1", "1e+21", "1.5e-7", "-0" is "0".
std::string FormatJsNumber(double value);

}  // namespace sluice::redis
