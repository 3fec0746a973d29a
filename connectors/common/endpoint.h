#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace sluice::connectors {

// A server's network address as a connector's config names it.
struct Endpoint {
  std::string host;  // a name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 0;

  // "host:port", with brackets around an IPv6 host: for messages and status.
  std::string ToString() const;
};

// Reads "host:port", "[v6-address]:port", or a bare host (then `default_port`). The message of
// an error says what is wrong with the text, without naming a field or operator.
Result<Endpoint> ParseEndpoint(std::string_view text, uint16_t default_port);

// Checks a host name or address alone (no port): non-empty, no spaces, no scheme or path.
Status CheckHost(std::string_view host);

}  // namespace sluice::connectors
