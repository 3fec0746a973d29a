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

Result<std::string> ReadPem(const std::string& flag, const std::string& file) {
  if (file.empty()) return std::string();
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::User("cannot read the " + flag + " file " + file);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN") == std::string::npos) {
    return Status::User("the " + flag + " file " + file + " holds no PEM block");
  }
  return text.str();
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

Result<ClusterSecurity> LoadClusterSecurity(const SecurityFiles& files) {
  ClusterSecurity security;
  auto token = LoadAuthToken(files.token_file);
  if (!token.ok()) return token.status();
  security.token = std::move(token).value();
  if (files.tls_cert.empty() != files.tls_key.empty()) {
    return Status::User("--tls-cert and --tls-key go together: a server needs its certificate (" +
                        (files.tls_cert.empty() ? std::string("missing") : files.tls_cert) +
                        ") and its private key (" +
                        (files.tls_key.empty() ? std::string("missing") : files.tls_key) + ")");
  }
  auto cert = ReadPem("--tls-cert", files.tls_cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("--tls-key", files.tls_key);
  if (!key.ok()) return key.status();
  auto ca = ReadPem("--tls-ca", files.tls_ca);
  if (!ca.ok()) return ca.status();
  security.cert_pem = std::move(cert).value();
  security.key_pem = std::move(key).value();
  security.ca_pem = std::move(ca).value();
  return security;
}

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost" || host == "::1") return true;
  return host.substr(0, 4) == "127.";
}

Status CheckListenSecurity(const std::string& listen, const ClusterSecurity& security,
                           bool insecure, const std::string& who) {
  if (!security.token.empty() || insecure) return Status::Ok();
  const auto colon = listen.rfind(':');
  const std::string_view host =
      std::string_view(listen).substr(0, colon == std::string::npos ? listen.size() : colon);
  if (IsLoopbackHost(host)) return Status::Ok();
  return Status::User(
      who + " refuses to listen on " + listen +
      " without an auth token: anyone who reaches that address could submit, cancel and read "
      "jobs, run code on workers and join as a worker. Give it a token (--auth-token-file or "
      "SLUICE_AUTH_TOKEN, and the same to workers and clients), listen on 127.0.0.1, or pass "
      "--insecure to accept the risk");
}

}  // namespace sluice
