// The game's view of storage: Get/Put/List/Del with the project's error
// model, so game logic runs the same over the real client and over the
// in-memory test doubles of src/game/testing/; and live messages (pub/sub)
// where the store has them.
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

 private:
  class ClientFeed;
  ClientStorage(std::shared_ptr<client::FailoverRouter> router,
                client::ClientOptions options);

  std::shared_ptr<client::FailoverRouter> router_;
  // The live feed signs in and speaks TLS too.
  const client::Credentials credentials_;
  const std::shared_ptr<tls::Context> tls_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace cmud::game
