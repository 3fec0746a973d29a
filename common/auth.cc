#include "common/auth.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace sluice {
namespace {

std::string Trim(std::string text) {
  const char* kSpace = " \t\r\n";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

Result<std::string> LoadAuthToken(const std::string& token_file) {
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in) return Status::User("cannot read the auth token file " + token_file);
    std::stringstream text;
    text << in.rdbuf();
    std::string token = Trim(text.str());
    if (token.empty()) return Status::User("the auth token file " + token_file + " is empty");
    return token;
  }
  const char* env = std::getenv("SLUICE_AUTH_TOKEN");
  return env == nullptr ? std::string() : Trim(env);
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    const char lower = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if (lower != kScheme[i]) return {};
  }
  return authorization.substr(kScheme.size());
}

bool TokenMatches(std::string_view presented, std::string_view expected) {
  if (expected.empty()) return true;
  // Every byte of the expected token is compared whatever the presented one holds.
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = i < presented.size() ? presented[i] : 0;
    diff |= static_cast<unsigned char>(p ^ static_cast<unsigned char>(expected[i]));
  }
  return diff == 0;
}

}  // namespace sluice
