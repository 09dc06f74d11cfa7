// The game's view of storage: Get/Put/List/Del with the project's error
// model, so game logic runs the same over the real client and over the
// in-memory test doubles of src/game/testing/; live messages (pub/sub)
// where the store has them; and per-player accounts where the store has
// them (each player an ACL user who may write only its own keys).
//
//   auto store =
//       cmud::game::ClientStorage::connect("127.0.0.1:6001,127.0.0.1:6002");
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cmud/client/client.h"
#include "cmud/common/status.h"

namespace cmud::game {

using client::KeyValues;

// Messages published to chosen channels, as they come (at most once: what
// must not be lost is in the store too). Thread-compatible.
class Feed {
 public:
  virtual ~Feed() = default;
  // Listens to exactly these channels from now on.
  virtual Status listen(const std::vector<std::string>& channels) = 0;
  // The messages published to them since the last call, oldest first.
  virtual Result<std::vector<std::string>> take() = 0;
  // A descriptor that is readable when take() has something; -1 when the
  // feed has none (then call take() from time to time).
  virtual int fd() const = 0;
};

// Whether a player name has an account on the store.
enum class Account {
  kNone,   // the store has no accounts: a name is all it takes
  kFree,   // no account of that name yet: it can be signed up
  kTaken,  // an account of that name exists: sign in with its password
};

// A key-value store with last-writer-wins replicas behind it. Every
// implementation is thread-safe.
class Storage {
 public:
  virtual ~Storage() = default;
  // nullopt when the key is absent.
  virtual Result<std::optional<std::string>> get(const std::string& key) = 0;
  virtual Status put(const std::string& key, const std::string& value) = 0;
  // Every pair whose key starts with prefix, sorted by key.
  virtual Result<KeyValues> list(const std::string& prefix) = 0;
  // True when the key existed.
  virtual Result<bool> del(const std::string& key) = 0;

  // A value that every replica drops once `ttl` has passed; a store
  // without expiry keeps it.
  virtual Status put_expiring(const std::string& key, const std::string& value,
                              std::chrono::milliseconds ttl) {
    (void)ttl;
    return put(key, value);
  }
  // Hands a message to the feeds listening to `channel`, at most once; a
  // store without pub/sub drops it.
  virtual Status publish(const std::string& channel,
                         const std::string& message) {
    (void)channel;
    (void)message;
    return Status::ok_status();
  }
  // A feed of live messages; null when the store has none.
  virtual std::unique_ptr<Feed> open_feed() { return nullptr; }
  // Where requests go now ("" for a store with no address), and how often
  // that changed because a server failed: the game tells the player.
  virtual std::string current_addr() const { return {}; }
  virtual uint64_t moves() const { return 0; }

  // Accounts. The defaults are a store without them: account() is kNone
  // and the other two fail with kNotFound.
  virtual Result<Account> account(const std::string& name) {
    (void)name;
    return Account::kNone;
  }
  // True: the account was created; false: the name was taken meanwhile.
  virtual Result<bool> sign_up(const std::string& name,
                               const std::string& password) {
    (void)name;
    (void)password;
    return Status(ErrorCode::kNotFound, "this store has no accounts");
  }
  // From now on every request (and every feed opened afterwards) acts as
  // that account. kDenied: a wrong password (nothing changes).
  virtual Status sign_in(const std::string& name, const std::string& password) {
    (void)name;
    (void)password;
    return Status(ErrorCode::kNotFound, "this store has no accounts");
  }
};

// The real store through cmud::client. Thread-safe.
//
// Stickiness: every request goes to one query port (the nearest that
// answers) until it fails or hangs; then the store moves to the nearest
// other and retries that request once there (client::FailoverRouter).
// Pinning one query actor gives a player read-your-writes and keeps the
// player's own successive writes in order (two actors could stamp two
// quick writes in the opposite order before they sync); across a move the
// client carries the order with CLOCK (client.h, FailoverOptions).
class ClientStorage : public Storage {
 public:
  // `addrs`: "host:port[,host:port...]" (see client::parse_addrs).
  static Result<std::unique_ptr<ClientStorage>> connect(
      const std::string& addrs, client::ClientOptions options = {});
  ~ClientStorage() override;

  Result<std::optional<std::string>> get(const std::string& key) override;
  Status put(const std::string& key, const std::string& value) override;
  Result<KeyValues> list(const std::string& prefix) override;
  Result<bool> del(const std::string& key) override;
  Status put_expiring(const std::string& key, const std::string& value,
                      std::chrono::milliseconds ttl) override;
  Status publish(const std::string& channel,
                 const std::string& message) override;
  // A subscription on the current address; it moves with the store when
  // that fails (and what was published meanwhile is missed).
  std::unique_ptr<Feed> open_feed() override;

  // The address requests go to now.
  std::string current_addr() const override;
  // How often the store moved to another server.
  uint64_t moves() const override;

  // ACL SIGNUP <name>: kFree or kTaken; kNone when the server answers with
  // an error (signup off, not allowed, or a server without it). Network
  // trouble is an error.
  Result<Account> account(const std::string& name) override;
  // ACL SIGNUP <name> <password>.
  Result<bool> sign_up(const std::string& name,
                       const std::string& password) override;
  // A new client on the same servers (and router: it chooses its server
  // afresh), signed in as `name` and proven with one request, then used
  // for everything, its credentials for feeds opened afterwards too. Only
  // kDenied is a refusal (the proof's own answer may be an error reply);
  // on it, or on network trouble, the old client stays.
  Status sign_in(const std::string& name, const std::string& password) override;

 private:
  class ClientFeed;
  ClientStorage(std::shared_ptr<client::FailoverRouter> router,
                client::ClientOptions options);

  // The client requests go to now; callers keep it alive while they use it,
  // so sign_in() may swap it under them.
  std::shared_ptr<client::Client> client() const;

  mutable std::mutex mu_;
  // Every client (and the live feed) signs in with options_.credentials
  // and speaks TLS as options_ says. Each client has a router of its own
  // (it moves it), so sign_in() replaces both.
  client::ClientOptions options_;                   // guarded by mu_
  std::shared_ptr<client::FailoverRouter> router_;  // guarded by mu_
  std::shared_ptr<client::Client> client_;          // guarded by mu_
};

}  // namespace cmud::game
