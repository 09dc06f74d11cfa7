// "host:port" addresses: the one parser and formatter every part uses (the
// transport, join targets, the client's server lists). IPv6 hosts are
// written in brackets: "[::1]:6000".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cmud/common/status.h"

namespace cmud {

// Thread-compatible value.
struct HostPort {
  std::string host;  // without the brackets of "[::1]:6000"
  uint16_t port = 0;

  // "host:port", or "[host]:port" when host contains a ':'.
  std::string to_string() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// Parses "host:port" or "[ipv6]:port". kInvalidArgument, with a message
// that names the address, when the host is empty, an IPv6 host lacks its
// brackets, or the port is not a number in 1..65535 (or 0..65535 with
// allow_port_zero, for "pick a free port").
Result<HostPort> parse_host_port(std::string_view addr,
                                 bool allow_port_zero = false);

// HostPort{host, port}.to_string().
std::string join_host_port(std::string_view host, uint16_t port);

}  // namespace cmud
