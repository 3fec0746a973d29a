#include "common/net_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>

namespace sluice {
namespace {

// Splits host:port; `port` is "" when there is none. Brackets around an IPv6 host are removed.
void SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  port->clear();
  if (!address.empty() && address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos) {
      *host = address;
      return;
    }
    *host = address.substr(1, close - 1);
    if (close + 1 < address.size() && address[close + 1] == ':') *port = address.substr(close + 2);
    return;
  }
  size_t colon = address.rfind(':');
  // More than one colon and no brackets: a bare IPv6 address, no port.
  if (colon == std::string::npos || address.find(':') != colon) {
    *host = address;
    return;
  }
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
}

std::string JoinHostPort(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

bool IsPort(const std::string& text) {
  if (text.empty() || text.size() > 5) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  int value = std::atoi(text.c_str());
  return value > 0 && value <= 65535;
}

}  // namespace

std::string HostOf(const std::string& address) {
  std::string host;
  std::string port;
  SplitHostPort(address, &host, &port);
  return host;
}

bool IsWildcardHost(const std::string& host) {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]" || host == "*";
}

bool IsLoopbackHost(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "[::1]") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  return false;
}

bool IsReachableFromOtherHosts(const std::string& address) {
  std::string host = HostOf(address);
  return !IsWildcardHost(host) && !IsLoopbackHost(host);
}

std::string HostAddress() {
  if (const char* pod_ip = std::getenv("POD_IP"); pod_ip != nullptr && *pod_ip != '\0') {
    return pod_ip;
  }
  std::string found;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) == 0) {
    for (ifaddrs* it = list; it != nullptr && found.empty(); it = it->ifa_next) {
      if (it->ifa_addr == nullptr || it->ifa_addr->sa_family != AF_INET) continue;
      if ((it->ifa_flags & IFF_UP) == 0 || (it->ifa_flags & IFF_LOOPBACK) != 0) continue;
      char text[INET_ADDRSTRLEN] = {0};
      const auto* in = reinterpret_cast<const sockaddr_in*>(it->ifa_addr);
      if (inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text)) != nullptr) found = text;
    }
    freeifaddrs(list);
  }
  if (!found.empty()) return found;
  char name[256] = {0};
  if (gethostname(name, sizeof(name) - 1) == 0 && name[0] != '\0') return name;
  return "127.0.0.1";
}

Result<std::string> AdvertisedAddress(const std::string& bound, const std::string& advertise) {
  std::string bound_host;
  std::string bound_port;
  SplitHostPort(bound, &bound_host, &bound_port);
  if (advertise.empty()) {
    return JoinHostPort(IsWildcardHost(bound_host) ? HostAddress() : bound_host, bound_port);
  }
  std::string host;
  std::string port;
  SplitHostPort(advertise, &host, &port);
  if (host.empty() || IsWildcardHost(host) || (!port.empty() && !IsPort(port))) {
    return Status::InvalidArgument("--advertise '" + advertise +
                                   "' is not host[:port] with a concrete host (e.g. 10.0.0.5 or "
                                   "worker-1.example:7071)");
  }
  return JoinHostPort(host, port.empty() ? bound_port : port);
}

}  // namespace sluice
