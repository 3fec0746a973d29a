#pragma once

#include <string>

#include "common/status.h"

namespace sluice {

// Addresses a process listens on versus the address it gives others (`--advertise`). A process
// may listen on a wildcard (0.0.0.0, [::]) or on loopback; others on other hosts need a concrete
// address they can route to. These helpers are pure except HostAddress(), which reads the
// machine's interfaces and environment.

// The host part of host:port ("[::1]:70" -> "::1"); the whole text when there is no port.
std::string HostOf(const std::string& address);

// Whether `host` names every interface (0.0.0.0, ::, [::], "" or *).
bool IsWildcardHost(const std::string& host);
// Whether `host` is a loopback address or name (127.0.0.0/8, ::1, localhost).
bool IsLoopbackHost(const std::string& host);
// Whether a process on another host could reach `address` (neither loopback nor wildcard).
bool IsReachableFromOtherHosts(const std::string& address);

// The address others should use for this host when it listens on a wildcard: $POD_IP when set
// (Kubernetes' downward API), else the first IPv4 address of an interface that is up and not
// loopback, else the host name.
std::string HostAddress();

// The address to advertise for a server bound at `bound` (host:port with the real port, host as
// given to --listen). `advertise` is the --advertise value: "" (derive it: the listen host when
// concrete, HostAddress() for a wildcard), "host" (the bound port is added) or "host:port".
// An --advertise that is not host[:port] is an error naming the flag.
Result<std::string> AdvertisedAddress(const std::string& bound, const std::string& advertise);

}  // namespace sluice
