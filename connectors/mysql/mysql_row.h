#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"

namespace sluice::mysql {

// One statement parameter: SQL NULL, a boolean, an integer, a double or a string. A JSON
// object or array the function returns becomes its JSON text (for JSON columns).
using SqlValue = std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string>;

// The parameters of one execution of the statement, in placeholder order.
using SqlRow = std::vector<SqlValue>;

// Appends the row in what the sink's function returned for one record (one JSON line): an
// array of exactly `placeholders` values, or null for no row. On bad input returns a
// user-domain Status that says what is wrong, without an operator label.
Status AppendRow(std::string_view json_line, uint32_t placeholders, std::vector<SqlRow>* rows);

// Appends the rows of every line of a batch (JSON lines, each ending in '\n'). Errors name
// `label` (the operator) and quote the offending record.
Status DecodeRowBatch(std::string_view json_lines, uint32_t placeholders, const std::string& label,
                      std::vector<SqlRow>* rows);

// The row for messages, as a JSON array with long strings cut: [1,"alice",null].
std::string DescribeRow(const SqlRow& row);

}  // namespace sluice::mysql
