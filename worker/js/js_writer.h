#pragma once

#include <string>
#include <string_view>
#include <type_traits>

namespace sluice::js {

// Writes JavaScript line by line at the right indentation: how chain_driver.cc builds a chain's
// driver, so that the generator reads like the code it writes and the driver reads like code
// (`sluice run --driver-dir`). A line is the concatenation of its parts (strings, integers).
// Borrows `out`, which outlives it; one thread.
class JsWriter {
 public:
  explicit JsWriter(std::string *out) : out_(out) {}

  template <typename... Parts>
  JsWriter &Line(const Parts &...parts) {
    out_->append(static_cast<size_t>(indent_), ' ');
    (Append(parts), ...);
    out_->push_back('\n');
    return *this;
  }
  // A line that opens a block ("if (x) {"): the lines after it are indented until Close().
  template <typename... Parts>
  JsWriter &Open(const Parts &...parts) {
    Line(parts...);
    indent_ += 2;
    return *this;
  }
  // Ends the block that the last Open() began, with "}" or the given closing line ("};").
  template <typename... Parts>
  JsWriter &Close(const Parts &...parts) {
    indent_ -= 2;
    if constexpr (sizeof...(parts) == 0) {
      return Line("}");
    } else {
      return Line(parts...);
    }
  }
  // Ends a block and opens the next on one line ("} finally {").
  template <typename... Parts>
  JsWriter &Next(const Parts &...parts) {
    indent_ -= 2;
    return Open(parts...);
  }

 private:
  void Append(std::string_view text) { out_->append(text); }
  void Append(const std::string &text) { out_->append(text); }
  void Append(const char *text) { out_->append(text); }
  template <typename N, std::enable_if_t<std::is_integral_v<N> && !std::is_same_v<N, char> &&
                                             !std::is_same_v<N, bool>,
                                         int> = 0>
  void Append(N number) {
    out_->append(std::to_string(number));
  }

  std::string *out_;
  int indent_ = 0;
};

// `text` as a JavaScript string literal, in double quotes: quotes, backslashes and control
// characters escaped; other bytes (UTF-8) as they are. For names and configs the driver embeds.
inline std::string JsString(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

}  // namespace sluice::js
