#include "cmud/common/address.h"

namespace cmud {

std::string join_host_port(std::string_view host, uint16_t port) {
  std::string out;
  bool v6 = host.find(':') != std::string_view::npos;
  if (v6) out += '[';
  out += host;
  if (v6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

std::string HostPort::to_string() const { return join_host_port(host, port); }

Result<HostPort> parse_host_port(std::string_view addr, bool allow_port_zero) {
  auto bad = [&](std::string_view why) {
    std::string msg = "bad address \"";
    msg += addr.substr(0, 200);
    msg += "\": ";
    msg += why;
    return Status(ErrorCode::kInvalidArgument, std::move(msg));
  };
  const auto colon = addr.rfind(':');
  if (colon == std::string_view::npos) return bad("expected host:port");
  std::string_view host = addr.substr(0, colon);
  const std::string_view port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (host.find_first_of("[]") != std::string_view::npos) {
      return bad("stray brackets in the host");
    }
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return bad("an IPv6 host must be written in brackets: [::1]:6000");
  }
  if (host.empty()) return bad("empty host");
  if (host.find_first_of(" \t\r\n,/") != std::string_view::npos) {
    return bad("the host has a space, comma or slash");
  }
  if (port.empty()) return bad("empty port");
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("the port is not a number");
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return bad("the port is out of range (1..65535)");
  }
  if (value == 0 && !allow_port_zero) {
    return bad("the port is out of range (1..65535)");
  }
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace cmud
