#include "connectors/common/endpoint.h"

#include <charconv>

namespace sluice::connectors {

std::string Endpoint::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Status CheckHost(std::string_view host) {
  if (host.empty()) return Status::User("the host is empty");
  if (host.find("://") != std::string_view::npos) {
    return Status::User("a host has no scheme (write \"localhost\", not \"redis://localhost\")");
  }
  for (char c : host) {
    if (c == ' ' || c == '\t' || c == '/' || c == '@' || c == '?' || c == '#' || c == '[' ||
        c == ']') {
      return Status::User("the host contains '" + std::string(1, c) + "'");
    }
  }
  return Status::Ok();
}

Result<Endpoint> ParseEndpoint(std::string_view text, uint16_t default_port) {
  Endpoint endpoint;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos)
      return Status::User("the '[' of an IPv6 host is not closed");
    endpoint.host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::User("expected ':' and a port after ']'");
      port_text = rest.substr(1);
      if (port_text.empty()) return Status::User("the port after ':' is missing");
    }
    if (endpoint.host.empty()) return Status::User("the host is empty");
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find("://") == std::string_view::npos) {
      if (text.find(':') != colon) {
        return Status::User("an IPv6 host needs brackets, as in \"[::1]:6379\"");
      }
      port_text = text.substr(colon + 1);
      text = text.substr(0, colon);
      if (port_text.empty()) return Status::User("the port after ':' is missing");
    }
    SLUICE_RETURN_IF_ERROR(CheckHost(text));
    endpoint.host = std::string(text);
  }
  endpoint.port = default_port;
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, error] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (error != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return Status::User("the port must be a number from 1 to 65535, not \"" +
                          std::string(port_text) + "\"");
    }
    endpoint.port = static_cast<uint16_t>(port);
  }
  return endpoint;
}

}  // namespace sluice::connectors
