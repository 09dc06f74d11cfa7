// Splitting "host:port" addresses; shared by the routers and the client.
// Private to src/client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cmud/common/status.h"

namespace cmud::client::detail {

struct HostPort {
  std::string host;  // without the brackets of "[::1]:6000"
  uint16_t port = 0;
};

// "host:port" or "[ipv6]:port"; kInvalidArgument when the host is empty or
// the port is not a number in 1..65535. Thread-safe.
Result<HostPort> split_host_port(std::string_view addr);

}  // namespace cmud::client::detail
