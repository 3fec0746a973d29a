#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::cli {

// `text` made safe to print on a terminal line: control characters (C0, DEL and the C1 range,
// ANSI escapes among them) and backslashes are written as escapes (`\n`, `\x1b`, `\u009b`,
// `\\`), so a job name or a message from the coordinator cannot start a new row or move the
// cursor. Other UTF-8 passes unchanged; bytes that are not UTF-8 become `\xNN`.
std::string Printable(std::string_view text);

// An event-time watermark (epoch ms) as UTC ISO-8601 with milliseconds; INT64_MAX, the end of
// input, as "end of input".
std::string EventTime(int64_t epoch_ms);

}  // namespace sluice::cli
