#include "cmud/game/storage.h"

#include <atomic>

namespace cmud::game {

// ---- ClientStorage
// ----------------------------------------------------------------

// Names the current address until told to move on. Thread-safe.
class ClientStorage::StickyRouter : public client::Router {
 public:
  explicit StickyRouter(std::vector<std::string> addrs)
      : addrs_(std::move(addrs)) {}
  std::string next_addr() override { return addrs_[current_ % addrs_.size()]; }
  // Moves to the next address, unless another caller already did after
  // `seen` was read.
  void advance(uint64_t seen) {
    current_.compare_exchange_strong(seen, seen + 1);
  }
  uint64_t position() const { return current_.load(); }
  size_t size() const { return addrs_.size(); }

 private:
  const std::vector<std::string> addrs_;
  std::atomic<uint64_t> current_{0};
};

namespace {

bool is_network_error(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kTimeout:
    case ErrorCode::kProtocol:
    case ErrorCode::kClosed:
      return true;
    default:
      return false;
  }
}

template <class T>
Status status_of(const Result<T>& r) {
  return r.status();
}
Status status_of(const Status& s) { return s; }

}  // namespace

Result<std::unique_ptr<ClientStorage>> ClientStorage::connect(
    const std::string& addrs, client::ClientOptions options) {
  auto parsed = client::parse_addrs(addrs);
  if (!parsed.ok()) return parsed.status();
  auto router = std::make_shared<StickyRouter>(std::move(*parsed));
  return std::unique_ptr<ClientStorage>(
      new ClientStorage(std::move(router), options));
}

ClientStorage::ClientStorage(std::shared_ptr<StickyRouter> router,
                             client::ClientOptions options)
    : router_(std::move(router)),
      client_(std::make_unique<client::Client>(router_, options)) {}

ClientStorage::~ClientStorage() = default;

template <class Op>
auto ClientStorage::with_failover(Op op) -> decltype(op()) {
  uint64_t seen = router_->position();
  auto result = op();
  if (router_->size() < 2 || !is_network_error(status_of(result))) {
    return result;
  }
  router_->advance(seen);
  return op();
}

Result<std::optional<std::string>> ClientStorage::get(const std::string& key) {
  return with_failover([&] { return client_->get(key); });
}

Status ClientStorage::put(const std::string& key, const std::string& value) {
  return with_failover([&] { return client_->put(key, value); });
}

Result<KeyValues> ClientStorage::list(const std::string& prefix) {
  return with_failover([&] { return client_->list(prefix); });
}

Result<bool> ClientStorage::del(const std::string& key) {
  return with_failover([&] { return client_->del(key); });
}

std::string ClientStorage::current_addr() const { return router_->next_addr(); }

}  // namespace cmud::game
