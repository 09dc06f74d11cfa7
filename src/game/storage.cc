#include "cmud/game/storage.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "cmud/client/subscriber.h"

namespace cmud::game {

// ---- ClientStorage ----------------------------------------------------------

Result<std::unique_ptr<ClientStorage>> ClientStorage::connect(
    const std::string& addrs, client::ClientOptions options) {
  auto parsed = client::parse_addrs(addrs);
  if (!parsed.ok()) return parsed.status();
  auto router = std::make_shared<client::FailoverRouter>(std::move(*parsed));
  return std::unique_ptr<ClientStorage>(
      new ClientStorage(std::move(router), options));
}

ClientStorage::ClientStorage(std::shared_ptr<client::FailoverRouter> router,
                             client::ClientOptions options)
    : options_(options),
      router_(std::move(router)),
      client_(std::make_shared<client::Client>(router_, options)) {}

ClientStorage::~ClientStorage() = default;

std::shared_ptr<client::Client> ClientStorage::client() const {
  std::lock_guard lock(mu_);
  return client_;
}

Result<std::optional<std::string>> ClientStorage::get(const std::string& key) {
  return client()->get(key);
}

Status ClientStorage::put(const std::string& key, const std::string& value) {
  return client()->put(key, value);
}

Result<KeyValues> ClientStorage::list(const std::string& prefix) {
  return client()->list(prefix);
}

Result<bool> ClientStorage::del(const std::string& key) {
  return client()->del(key);
}

Status ClientStorage::put_expiring(const std::string& key,
                                   const std::string& value,
                                   std::chrono::milliseconds ttl) {
  return client()->put(key, value, ttl);
}

Status ClientStorage::publish(const std::string& channel,
                              const std::string& message) {
  return client()->publish(channel, message).status();
}

Result<Account> ClientStorage::account(const std::string& name) {
  auto free = client()->signup_free(name);
  if (!free.ok()) {
    // An error reply: this server has no accounts for us (signup off, not
    // allowed to us, or a server from before signup).
    if (free.status().code() == ErrorCode::kInternal) return Account::kNone;
    return free.status();
  }
  return *free ? Account::kFree : Account::kTaken;
}

Result<bool> ClientStorage::sign_up(const std::string& name,
                                    const std::string& password) {
  return client()->signup(name, password);
}

Status ClientStorage::sign_in(const std::string& name,
                              const std::string& password) {
  client::ClientOptions options;
  std::shared_ptr<client::FailoverRouter> router;
  {
    std::lock_guard lock(mu_);
    options = options_;
    router = std::make_shared<client::FailoverRouter>(router_->addrs());
  }
  options.credentials = client::Credentials{name, password};
  auto next = std::make_shared<client::Client>(router, options);
  // Every connection signs in as it opens: one request proves the
  // password. Its own answer does not matter (a refusal to read that key
  // still means we got in); only kDenied means the password was wrong.
  auto proof = next->get("cmud:auth-check");
  if (!proof.ok() && proof.status().code() != ErrorCode::kInternal) {
    return proof.status();
  }
  std::shared_ptr<client::Client> old;
  {
    std::lock_guard lock(mu_);
    options_ = options;
    router_ = std::move(router);
    old = std::exchange(client_, std::move(next));
  }
  // `old` is destroyed here, or by the last request still using it.
  return Status::ok_status();
}

std::string ClientStorage::current_addr() const {
  std::lock_guard lock(mu_);
  return router_->next_addr();
}

uint64_t ClientStorage::moves() const {
  std::lock_guard lock(mu_);
  return router_->moves();
}

// A client::Subscriber on the store's current address, opened again there
// (listening to the same channels) when it breaks or the store moved.
class ClientStorage::ClientFeed : public Feed {
 public:
  ClientFeed(std::shared_ptr<client::FailoverRouter> router,
             client::Credentials credentials, std::shared_ptr<tls::Context> tls)
      : router_(std::move(router)),
        credentials_(std::move(credentials)),
        tls_(std::move(tls)) {}

  Status listen(const std::vector<std::string>& channels) override {
    if (Status s = ensure(); !s.ok()) {
      channels_ = channels;  // for the next attempt
      return s;
    }
    for (const auto& c : channels_) {
      if (std::find(channels.begin(), channels.end(), c) == channels.end()) {
        if (Status s = sub_->unsubscribe(c); !s.ok()) return drop(s);
      }
    }
    for (const auto& c : channels) {
      if (std::find(channels_.begin(), channels_.end(), c) == channels_.end()) {
        if (Status s = sub_->subscribe(c); !s.ok()) return drop(s);
      }
    }
    channels_ = channels;
    return Status::ok_status();
  }

  Result<std::vector<std::string>> take() override {
    if (Status s = ensure(); !s.ok()) return s;
    auto got = sub_->read();
    if (!got.ok()) return drop(got.status());
    std::vector<std::string> out;
    for (auto& m : *got) out.push_back(std::move(m.message));
    return out;
  }

  int fd() const override { return sub_ ? sub_->fd() : -1; }

 private:
  // Connected to where the store sends requests now, listening. After a
  // failed attempt the next waits a while: the game calls this on every
  // command, and must not wait on an address that does not answer.
  Status ensure() {
    // Where the store's requests go; none while it chooses a server after
    // one failed (the feed follows once it has).
    auto current = router_->current();
    if (!current) {
      sub_.reset();
      return Status(ErrorCode::kUnavailable, "the store is moving servers");
    }
    const std::string& addr = *current;
    if (sub_ && sub_->addr() == addr) return Status::ok_status();
    sub_.reset();
    auto now = std::chrono::steady_clock::now();
    if (now < retry_at_) {
      return Status(ErrorCode::kUnavailable, "the live feed is reconnecting");
    }
    auto s =
        client::Subscriber::connect(addr, kConnectTimeout, credentials_, tls_);
    if (!s.ok()) {
      retry_at_ = now + kRetryAfter;
      return s.status();
    }
    sub_ = std::move(*s);
    for (const auto& c : channels_) {
      if (Status st = sub_->subscribe(c); !st.ok()) return drop(st);
    }
    return Status::ok_status();
  }
  Status drop(Status s) {
    sub_.reset();
    return s;
  }

  static constexpr std::chrono::milliseconds kConnectTimeout{300};
  static constexpr std::chrono::seconds kRetryAfter{5};

  std::shared_ptr<client::FailoverRouter> router_;
  const client::Credentials credentials_;
  const std::shared_ptr<tls::Context> tls_;
  std::unique_ptr<client::Subscriber> sub_;
  std::vector<std::string> channels_;
  std::chrono::steady_clock::time_point retry_at_{};
};

std::unique_ptr<Feed> ClientStorage::open_feed() {
  std::lock_guard lock(mu_);
  return std::make_unique<ClientFeed>(router_, options_.credentials,
                                      options_.tls);
}

}  // namespace cmud::game
