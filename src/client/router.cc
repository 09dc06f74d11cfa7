#include <cassert>
#include <string_view>

#include "cmud/client/client.h"
#include "cmud/common/address.h"

namespace cmud::client {

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

FailoverRouter::FailoverRouter(std::vector<std::string> addrs)
    : addrs_(std::move(addrs)) {
  assert(!addrs_.empty());
}

std::string FailoverRouter::next_addr() {
  if (addrs_.empty()) return {};
  int i = current_.load(std::memory_order_acquire);
  if (i < 0) i = last_.load(std::memory_order_acquire);
  return addrs_[static_cast<size_t>(i) % addrs_.size()];
}

std::optional<std::string> FailoverRouter::current() const {
  const int i = current_.load(std::memory_order_acquire);
  if (i < 0 || static_cast<size_t>(i) >= addrs_.size()) return std::nullopt;
  return addrs_[static_cast<size_t>(i)];
}

void FailoverRouter::set_current(int index, bool moved) {
  if (index >= 0) last_.store(index, std::memory_order_release);
  current_.store(index, std::memory_order_release);
  if (moved) moves_.fetch_add(1, std::memory_order_acq_rel);
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
    auto hp = parse_host_port(item);
    if (!hp.ok()) return hp.status();
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace cmud::client
