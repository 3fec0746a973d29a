#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::kafka {

// Byte and JSON text helpers for turning Kafka messages into JSON lines and back. Pure.

bool IsValidUtf8(std::string_view bytes);

// Appends `bytes` as a JSON string literal (quotes included). Bytes that are not valid UTF-8
// are written as U+FFFD; control characters, '"' and '\' are escaped, so the literal never
// contains a raw newline.
void AppendJsonString(std::string* out, std::string_view bytes);

// Standard base64 (RFC 4648, with padding).
std::string Base64Encode(std::string_view bytes);
// nullopt when `text` is not padded standard base64.
std::optional<std::string> Base64Decode(std::string_view text);

// The length of the JSON value at the start of `text` (no leading whitespace), or 0 when it
// does not start with a complete JSON value. Meant for text JSON.stringify wrote: it finds the
// value's end (strings with escapes, nesting) without checking every detail of the grammar.
size_t JsonValueLength(std::string_view text);

// The bytes of a JSON string literal (quotes included), unescaped into UTF-8; a lone surrogate
// escape becomes U+FFFD. nullopt when `literal` is not a well-formed string literal.
std::optional<std::string> UnescapeJsonString(std::string_view literal);

}  // namespace sluice::kafka
