#include "cli/security_options.h"

#include <CLI/CLI.hpp>

namespace sluice::cli {
namespace {

constexpr char kTokenHelp[] =
    "File holding the cluster's auth token (default $SLUICE_AUTH_TOKEN); calls carry it as "
    "`authorization: Bearer`";
constexpr char kCaHelp[] =
    "PEM file of the roots to trust: connect over TLS and verify the server's certificate";

}  // namespace

void AddServerSecurityOptions(CLI::App& command, SecurityFiles& files) {
  command.add_option("--auth-token-file", files.token_file,
                     std::string(kTokenHelp) +
                         "; every call to this process must carry it too. Without a token a "
                         "coordinator serves on loopback addresses only (see --insecure)");
  command.add_option("--tls-cert", files.tls_cert,
                     "PEM certificate to serve gRPC over TLS with (needs --tls-key)");
  command.add_option("--tls-key", files.tls_key, "PEM private key of --tls-cert");
  command.add_option("--tls-ca", files.tls_ca,
                     std::string(kCaHelp) + " (of the coordinator and other workers)");
}

void AddClientSecurityOptions(CLI::App& command) {
  SecurityFiles& files = ClientSecurityFiles();
  command.add_option("--auth-token-file", files.token_file, kTokenHelp);
  command.add_option("--tls-ca", files.tls_ca, std::string(kCaHelp) + " (of the coordinator)");
}

SecurityFiles& ClientSecurityFiles() {
  static SecurityFiles files;
  return files;
}

std::vector<std::string> SecurityArguments(const SecurityFiles& files) {
  std::vector<std::string> args;
  const std::pair<const char*, const std::string*> flags[] = {
      {"--auth-token-file", &files.token_file},
      {"--tls-cert", &files.tls_cert},
      {"--tls-key", &files.tls_key},
      {"--tls-ca", &files.tls_ca}};
  for (const auto& [flag, value] : flags) {
    if (value->empty()) continue;
    args.emplace_back(flag);
    args.push_back(*value);
  }
  return args;
}

}  // namespace sluice::cli
