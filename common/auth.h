#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice {

// The cluster's shared secret. Clients send it as `authorization: Bearer <token>` (gRPC
// metadata or HTTP header); workers present it when they register. An empty token means the
// cluster runs without authentication (loopback only unless told --insecure).
//
// Reads the token from `token_file` when given (surrounding whitespace trimmed), else from the
// environment variable SLUICE_AUTH_TOKEN, else returns "". A named file that cannot be read, or
// holds no token, is an error naming the file.
Result<std::string> LoadAuthToken(const std::string& token_file);

// The token inside an `Authorization` value of the form "Bearer <token>" (scheme matched without
// regard to case), or "" when the value has another form.
std::string_view BearerToken(std::string_view authorization);

// Compares a presented token with the expected one in time independent of where they differ.
// An empty `expected` accepts anything (no authentication configured).
bool TokenMatches(std::string_view presented, std::string_view expected);

// What a process was told about securing its gRPC traffic: file names, all optional.
struct SecurityFiles {
  std::string token_file;  // --auth-token-file (else $SLUICE_AUTH_TOKEN)
  std::string tls_cert;    // --tls-cert: PEM certificate this process serves with
  std::string tls_key;     // --tls-key: its PEM private key
  std::string tls_ca;      // --tls-ca: PEM roots this process trusts when it connects (TLS on)
};

// How a process proves itself and checks its peers: the cluster token and the TLS material,
// read once at start-up. Copied into whatever opens channels or serves; immutable after.
struct ClusterSecurity {
  std::string token;     // "" : no authentication
  std::string cert_pem;  // with key_pem: servers speak TLS
  std::string key_pem;
  std::string ca_pem;  // clients speak TLS and trust these roots

  bool server_tls() const { return !cert_pem.empty(); }
  bool client_tls() const { return !ca_pem.empty(); }
};

// Reads the token (LoadAuthToken) and the TLS files. A certificate without its key (or the
// reverse), or a file that cannot be read, is a user error naming the flag and the file.
Result<ClusterSecurity> LoadClusterSecurity(const SecurityFiles& files);

// Whether `host` (of a host:port, brackets allowed) names this machine only: localhost,
// 127.0.0.0/8 or ::1.
bool IsLoopbackHost(std::string_view host);

// Refuses to serve on a non-loopback `listen` address without a token, unless `insecure`: anyone
// who reaches such a port could submit, cancel or read jobs, deploy code to a worker or register
// as one. `who` names the process ("the coordinator", "the worker").
Status CheckListenSecurity(const std::string& listen, const ClusterSecurity& security,
                           bool insecure, const std::string& who);

}  // namespace sluice
