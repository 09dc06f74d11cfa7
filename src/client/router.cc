#include <cassert>
#include <string_view>

#include "address.h"
#include "cmud/client/client.h"

namespace cmud::client {

namespace detail {

Result<HostPort> split_host_port(std::string_view addr) {
  auto bad = [&](std::string_view why) {
    std::string msg = "bad address \"";
    msg += addr;
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
  } else if (host.find_first_of("[]:") != std::string_view::npos) {
    return bad("an IPv6 host must be written in brackets: [::1]:6000");
  }
  if (host.empty()) return bad("empty host");
  if (port.empty()) return bad("empty port");
  uint32_t value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return bad("the port is not a number");
    value = value * 10 + static_cast<uint32_t>(c - '0');
    if (value > 65535) return bad("the port is out of range (1..65535)");
  }
  if (value == 0) return bad("the port is out of range (1..65535)");
  return HostPort{std::string(host), static_cast<uint16_t>(value)};
}

}  // namespace detail

FixedRouter::FixedRouter(std::string addr) : addr_(std::move(addr)) {}

std::string FixedRouter::next_addr() { return addr_; }

RoundRobinRouter::RoundRobinRouter(std::vector<std::string> addrs)
    : addrs_(std::move(addrs)) {
  assert(!addrs_.empty());
}

std::string RoundRobinRouter::next_addr() {
  // An empty list (a broken precondition) yields "", which the client
  // refuses as an invalid address.
  if (addrs_.empty()) return {};
  const uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
  return addrs_[n % addrs_.size()];
}

RandomRouter::RandomRouter(std::vector<std::string> addrs, uint64_t seed)
    : addrs_(std::move(addrs)),
      rng_(seed != 0 ? seed : std::random_device{}()) {
  assert(!addrs_.empty());
}

std::string RandomRouter::next_addr() {
  if (addrs_.empty()) return {};
  size_t i;
  {
    std::lock_guard lock(mu_);
    i = std::uniform_int_distribution<size_t>(0, addrs_.size() - 1)(rng_);
  }
  return addrs_[i];
}

Result<std::vector<std::string>> parse_addrs(const std::string& list) {
  constexpr std::string_view kSpace = " \t";
  std::vector<std::string> out;
  std::string_view rest = list;
  if (rest.find_first_not_of(kSpace) == std::string_view::npos) {
    return Status(ErrorCode::kInvalidArgument, "no addresses given");
  }
  while (true) {
    const auto comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    const auto first = item.find_first_not_of(kSpace);
    if (first == std::string_view::npos) {
      return Status(ErrorCode::kInvalidArgument,
                    "empty address in list \"" + list + "\"");
    }
    item = item.substr(first, item.find_last_not_of(kSpace) - first + 1);
    auto hp = detail::split_host_port(item);
    if (!hp.ok()) return hp.status();
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace cmud::client
