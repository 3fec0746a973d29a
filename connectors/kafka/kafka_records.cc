#include "connectors/kafka/kafka_records.h"

#include <limits>
#include <nlohmann/json.hpp>

#include "connectors/kafka/json_text.h"

namespace sluice::kafka {
namespace {

// A key, value or header value of the "bytes" format: null, a string when the bytes are valid
// UTF-8, else { "base64": "..." }.
void AppendBytes(std::string* out, const std::optional<std::string_view>& bytes) {
  if (!bytes.has_value()) {
    out->append("null");
  } else if (IsValidUtf8(*bytes)) {
    AppendJsonString(out, *bytes);
  } else {
    out->append("{\"base64\":\"");
    out->append(Base64Encode(*bytes));
    out->append("\"}");
  }
}

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Appends a "json" value. The chain reads one value per line, so raw newlines (JSON allows them
// only between tokens) become spaces, once the value is known to be JSON.
Status AppendJsonValue(std::string_view value, std::string* out) {
  size_t first = 0;
  while (first < value.size() && IsJsonSpace(value[first])) ++first;
  // Anything else cannot start a JSON value; checking here keeps empty values (which the chain
  // would skip) and control bytes (a batch starting with 0x01 is a columnar frame) out.
  static constexpr std::string_view kStarts = "{[\"-0123456789tfn";
  if (first == value.size() || kStarts.find(value[first]) == std::string_view::npos) {
    return Status::User("the value is not JSON" +
                        std::string(first == value.size() ? " (it is empty)" : ""));
  }
  if (value.find('\n') == std::string_view::npos) {
    out->append(value.data() + first, value.size() - first);
  } else {
    if (!nlohmann::json::accept(value)) return Status::User("the value is not valid JSON");
    for (size_t i = first; i < value.size(); ++i) out->push_back(value[i] == '\n' ? ' ' : value[i]);
  }
  out->push_back('\n');
  return Status::Ok();
}

// A key or value field of an outgoing line: `text` is its JSON.
Result<std::optional<std::string>> MessageBytes(std::string_view text, const char* what) {
  if (text == "null") return std::optional<std::string>();
  if (text.front() == '"') {
    auto bytes = UnescapeJsonString(text);
    if (!bytes.has_value()) {
      return Status::User(std::string("the ") + what + " is not a well-formed JSON string");
    }
    return std::optional<std::string>(std::move(*bytes));
  }
  if (text.front() == '{' && text.find("\"base64\"") != std::string_view::npos) {
    auto object = nlohmann::json::parse(text, nullptr, false);
    if (object.is_object() && object.size() == 1 && object.contains("base64")) {
      const auto& encoded = object["base64"];
      std::optional<std::string> bytes;
      if (encoded.is_string()) bytes = Base64Decode(encoded.get<std::string>());
      if (!bytes.has_value()) {
        return Status::User(std::string("the ") + what +
                            "'s \"base64\" is not base64 text: " + encoded.dump().substr(0, 80));
      }
      return std::optional<std::string>(std::move(*bytes));
    }
  }
  return std::optional<std::string>(std::string(text));
}

Result<int32_t> Partition(std::string_view text) {
  if (text == "null") return -1;
  auto number = nlohmann::json::parse(text, nullptr, false);
  bool integral =
      number.is_number_unsigned() || (number.is_number_integer() && number.get<int64_t>() >= 0) ||
      (number.is_number_float() && number.get<double>() >= 0 &&
       number.get<double>() == static_cast<double>(static_cast<int64_t>(number.get<double>())));
  if (!integral || number.get<double>() > std::numeric_limits<int32_t>::max()) {
    return Status::User("the partition function returned " + std::string(text.substr(0, 80)) +
                        ", not a partition number (an integer >= 0)");
  }
  return static_cast<int32_t>(number.get<double>());
}

}  // namespace

Result<bool> AppendRecordLine(RecordFormat format, const MessageView& message, std::string* out) {
  switch (format) {
    case RecordFormat::kString:
      if (!message.value.has_value()) return false;
      AppendJsonString(out, *message.value);
      out->push_back('\n');
      return true;
    case RecordFormat::kJson: {
      if (!message.value.has_value()) return false;
      const size_t size = out->size();
      Status status = AppendJsonValue(*message.value, out);
      if (!status.ok()) {
        out->resize(size);
        return status;
      }
      return true;
    }
    case RecordFormat::kBytes:
      break;
  }
  out->append("{\"key\":");
  AppendBytes(out, message.key);
  out->append(",\"value\":");
  AppendBytes(out, message.value);
  out->append(",\"headers\":[");
  for (size_t i = 0; i < message.headers.size(); ++i) {
    out->append(i == 0 ? "{\"key\":" : ",{\"key\":");
    AppendJsonString(out, message.headers[i].first);
    out->append(",\"value\":");
    AppendBytes(out, message.headers[i].second);
    out->push_back('}');
  }
  out->append("],\"timestamp\":");
  out->append(message.timestamp_ms.has_value() ? std::to_string(*message.timestamp_ms) : "null");
  out->append(",\"topic\":");
  AppendJsonString(out, message.topic);
  out->append(",\"partition\":");
  out->append(std::to_string(message.partition));
  out->append(",\"offset\":");
  out->append(std::to_string(message.offset));
  out->append("}\n");
  return true;
}

Result<OutgoingMessage> ParseOutgoingLine(std::string_view line) {
  const auto malformed = [&] {
    return Status::Internal("the Kafka sink's stages produced a malformed line: " +
                            std::string(line.substr(0, 120)));
  };
  if (line.size() < 2 || line.front() != '{' || line.back() != '}') return malformed();
  OutgoingMessage message;
  bool has_value = false;
  size_t i = 1;
  while (i < line.size() - 1) {
    // JSON.stringify of { k, v, p }: `"k":<value>` separated by commas, no spaces.
    if (i + 4 > line.size() || line[i] != '"' || line[i + 2] != '"' || line[i + 3] != ':') {
      return malformed();
    }
    const char field = line[i + 1];
    i += 4;
    const size_t length = JsonValueLength(line.substr(i, line.size() - 1 - i));
    if (length == 0) return malformed();
    const std::string_view text = line.substr(i, length);
    i += length;
    if (i < line.size() - 1) {
      if (line[i] != ',') return malformed();
      ++i;
    }
    if (field == 'k') {
      auto key = MessageBytes(text, "key");
      if (!key.ok()) return key.status();
      message.key = std::move(*key);
    } else if (field == 'v') {
      auto value = MessageBytes(text, "value");
      if (!value.ok()) return value.status();
      message.value = std::move(*value);
      has_value = true;
    } else if (field == 'p') {
      auto partition = Partition(text);
      if (!partition.ok()) return partition.status();
      message.partition = *partition;
    } else {
      return malformed();
    }
  }
  if (!has_value) {
    return Status::User(
        "a record (or what the value function returned) is undefined, which has no JSON; return "
        "null for a message without a value");
  }
  return message;
}

}  // namespace sluice::kafka
