#include "connectors/mysql/mysql_row.h"

#include <limits>
#include <nlohmann/json.hpp>

namespace sluice::mysql {
namespace {

using nlohmann::json;

std::string Shorten(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...";
}

SqlValue ToValue(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return std::monostate{};
    case json::value_t::boolean:
      return value.get<bool>();
    case json::value_t::number_integer:
      return value.get<int64_t>();
    case json::value_t::number_unsigned: {
      // JSON parsing makes every non-negative integer unsigned; keep the signed type for those
      // that fit, so that only values above INT64_MAX bind as unsigned.
      const uint64_t n = value.get<uint64_t>();
      if (n <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return static_cast<int64_t>(n);
      }
      return n;
    }
    case json::value_t::number_float:
      return value.get<double>();
    case json::value_t::string:
      return value.get<std::string>();
    default:
      return value.dump();
  }
}

}  // namespace

Status AppendRow(std::string_view json_line, uint32_t placeholders, std::vector<SqlRow>* rows) {
  json value = json::parse(json_line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return Status::Internal("the sink received a line that is not JSON");
  if (value.is_null()) return Status::Ok();
  if (!value.is_array()) {
    return Status::User("the function must return an array of the statement's " +
                        std::to_string(placeholders) +
                        " parameter values (or null for no row), "
                        "got " +
                        std::string(value.type_name()));
  }
  if (value.size() != placeholders) {
    return Status::User("the function returned " + std::to_string(value.size()) +
                        " values, but the statement has " + std::to_string(placeholders) +
                        " '?' placeholders");
  }
  SqlRow& row = rows->emplace_back();
  row.reserve(value.size());
  for (const json& item : value) row.push_back(ToValue(item));
  return Status::Ok();
}

Status DecodeRowBatch(std::string_view json_lines, uint32_t placeholders, const std::string& label,
                      std::vector<SqlRow>* rows) {
  while (!json_lines.empty()) {
    size_t end = json_lines.find('\n');
    std::string_view line = json_lines.substr(0, end);
    json_lines.remove_prefix(end == std::string_view::npos ? json_lines.size() : end + 1);
    if (line.empty()) continue;
    Status status = AppendRow(line, placeholders, rows);
    if (!status.ok()) {
      return Status(
          status.code(), status.domain(),
          label + ": " + status.message() + "; the function returned " + Shorten(line, 200));
    }
  }
  return Status::Ok();
}

std::string DescribeRow(const SqlRow& row) {
  json array = json::array();
  for (const SqlValue& value : row) {
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            array.push_back(nullptr);
          } else if constexpr (std::is_same_v<T, std::string>) {
            array.push_back(Shorten(v, 64));
          } else {
            array.push_back(v);
          }
        },
        value);
  }
  return array.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sluice::mysql
