#include "common/key_partitioning.h"

#include <regex>

namespace sluice {

bool ReturnsItsKeyField(const std::string& key_fn) {
  // An identifier, then its "key" field, with any spacing; the arrow's parameter may be in
  // parentheses, its body in parentheses or a block returning it.
  static const std::regex kArrow(
      R"(^\s*(?:\(\s*([A-Za-z_$][\w$]*)\s*\)|([A-Za-z_$][\w$]*))\s*=>\s*(?:\(\s*)?)"
      R"(([A-Za-z_$][\w$]*)(?:\.key|\[\s*["']key["']\s*\])\s*\)?\s*$)");
  static const std::regex kFunction(
      R"(^\s*function\s*[\w$]*\s*\(\s*([A-Za-z_$][\w$]*)\s*\)\s*\{\s*return\s+)"
      R"(([A-Za-z_$][\w$]*)(?:\.key|\[\s*["']key["']\s*\])\s*;?\s*\}\s*$)");
  std::smatch m;
  if (std::regex_match(key_fn, m, kArrow)) {
    const std::string param = m[1].matched ? m[1].str() : m[2].str();
    return param == m[3].str();
  }
  if (std::regex_match(key_fn, m, kFunction)) return m[1].str() == m[2].str();
  return false;
}

bool AlreadyPartitioned(const proto::Operator& from, const proto::Edge& edge) {
  if (edge.partitioning() != proto::HASH) return false;
  if (edge.partitioned()) return true;
  if (!edge.from_output().empty()) return false;  // a window's late records are its input's
  return from.kind() == "window" && ReturnsItsKeyField(edge.key_fn());
}

}  // namespace sluice
