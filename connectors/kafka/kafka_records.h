#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "connectors/kafka/kafka_config.h"

namespace sluice::kafka {

// How Kafka messages become the JSON lines a source hands to its chain, and how the lines the
// sink's JS stages produce become Kafka messages. Pure; README.md ("Records") has the shapes.

// A consumed message, as views into the client's buffers.
struct MessageView {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<int64_t> timestamp_ms;
  std::optional<std::string_view> key;    // nullopt: no key
  std::optional<std::string_view> value;  // nullopt: no value (a tombstone)
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> headers;
};

// Appends `message` as one JSON line ('\n'-terminated) in `format`. Returns false, appending
// nothing, for a tombstone in the "string" and "json" formats (they have no record to give).
// With "json", a value that is not JSON is a user error (the phrase says why, without naming the
// operator or the message; the caller adds those).
Result<bool> AppendRecordLine(RecordFormat format, const MessageView& message, std::string* out);

// What the sink's JS stages make of one record: the line `{"k":…,"v":…,"p":…}`.
struct OutgoingMessage {
  std::optional<std::string> key;    // nullopt: no key
  std::optional<std::string> value;  // nullopt: no value (a tombstone)
  int32_t partition = -1;            // -1: by the key's hash (the partitioner decides)
};

// Reads one line of the sink stages' output. A key or value that is a string is sent as its
// UTF-8 bytes, `{ "base64": "..." }` as the decoded bytes, null as no key / no value, anything
// else as its JSON text. Errors are user errors phrased to follow the operator's label.
Result<OutgoingMessage> ParseOutgoingLine(std::string_view line);

}  // namespace sluice::kafka
