#include "connectors/redis/redis_command.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

namespace sluice::redis {
namespace {

using nlohmann::json;

std::string Shorten(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

const char* TypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    default:
      return "a number";
  }
}

Status DecodeCommand(const json& value, std::vector<RedisCommand>* commands) {
  if (!value.is_array() || value.empty()) {
    return Status::User(std::string("a command must be a non-empty array, got ") + TypeName(value));
  }
  if (!value[0].is_string() || value[0].get_ref<const std::string&>().empty()) {
    return Status::User(std::string("a command must start with its name (a non-empty string), "
                                    "got ") +
                        Shorten(value[0].dump(), 64));
  }
  RedisCommand command;
  command.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    const json& arg = value[i];
    if (arg.is_string()) {
      command.push_back(arg.get<std::string>());
    } else if (arg.is_number_unsigned()) {  // before is_number_integer(), which includes it
      command.push_back(std::to_string(arg.get<uint64_t>()));
    } else if (arg.is_number_integer()) {
      command.push_back(std::to_string(arg.get<int64_t>()));
    } else if (arg.is_number_float()) {
      command.push_back(FormatJsNumber(arg.get<double>()));
    } else {
      return Status::User("argument " + std::to_string(i) + " of " +
                          value[0].get_ref<const std::string&>() +
                          " must be a string or a number, got " + TypeName(arg) +
                          " (turn it into a string, e.g. with JSON.stringify)");
    }
  }
  commands->push_back(std::move(command));
  return Status::Ok();
}

}  // namespace

Status AppendCommands(std::string_view json_line, std::vector<RedisCommand>* commands) {
  json value = json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::Internal("the sink received a line that is not JSON");
  if (value.is_null()) return Status::Ok();
  if (!value.is_array()) {
    return Status::User(std::string("the function must return a command (an array such as "
                                    "[\"SET\", key, value]), a list of commands, or null; got ") +
                        TypeName(value));
  }
  if (value.empty()) return Status::Ok();
  if (!value[0].is_array()) return DecodeCommand(value, commands);
  for (size_t i = 0; i < value.size(); ++i) {
    Status status = DecodeCommand(value[i], commands);
    if (!status.ok()) {
      return Status::User("command " + std::to_string(i) + " of the list: " + status.message());
    }
  }
  return Status::Ok();
}

Status DecodeCommandBatch(std::string_view json_lines, const std::string& label,
                          std::vector<RedisCommand>* commands) {
  while (!json_lines.empty()) {
    size_t end = json_lines.find('\n');
    std::string_view line = json_lines.substr(0, end);
    json_lines.remove_prefix(end == std::string_view::npos ? json_lines.size() : end + 1);
    if (line.empty()) continue;
    Status status = AppendCommands(line, commands);
    if (!status.ok()) {
      return Status(
          status.code(), status.domain(),
          label + ": " + status.message() + "; the function returned " + Shorten(line, 200));
    }
  }
  return Status::Ok();
}

std::string DescribeCommand(const RedisCommand& command) {
  if (command.empty()) return "(empty command)";
  std::string text = command[0];
  const size_t shown = std::min<size_t>(command.size(), 9);
  for (size_t i = 1; i < shown; ++i) {
    // A cut may split a UTF-8 sequence (and arguments may be binary): replace, don't throw.
    text +=
        " " + json(Shorten(command[i], 64)).dump(-1, ' ', false, json::error_handler_t::replace);
  }
  if (command.size() > shown) {
    text += " ... (" + std::to_string(command.size() - 1) + " arguments)";
  }
  return text;
}

std::string FormatJsNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0) return "0";
  std::string sign = value < 0 ? "-" : "";
  // The shortest digits that read back as `value`, and the decimal exponent, as d.ddde±x.
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, std::fabs(value),
                                    std::chars_format::scientific);
  std::string_view text(buffer, end - buffer);
  size_t e = text.find('e');
  std::string digits;
  for (char c : text.substr(0, e)) {
    if (c != '.') digits += c;
  }
  const int exponent = std::atoi(std::string(text.substr(e + 1)).c_str());
  // ECMAScript Number::toString: k digits, the point after n digits (n = exponent + 1).
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) return sign + digits + std::string(n - k, '0');
  if (0 < n && n <= 21) return sign + digits.substr(0, n) + "." + digits.substr(n);
  if (-6 < n && n <= 0) return sign + "0." + std::string(-n, '0') + digits;
  std::string mantissa = k == 1 ? digits : digits.substr(0, 1) + "." + digits.substr(1);
  return sign + mantissa + "e" + (n - 1 >= 0 ? "+" : "-") + std::to_string(std::abs(n - 1));
}

}  // namespace sluice::redis
