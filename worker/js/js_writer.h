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

}  // namespace sluice::js
