// The game's view of storage: Get/Put/List/Del with the project's error
// model, so game logic runs the same over the real client and over the
// in-memory test doubles of src/game/testing/.
//
//   auto store =
//       cmud::game::ClientStorage::connect("127.0.0.1:6001,127.0.0.1:6002");
#pragma once

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
};

// The real store through cmud::client. Thread-safe.
//
// Stickiness: every request goes to the same query port (the first
// address) until one fails with a network error; then the store moves to
// the next address and retries that request once there. Pinning one query
// actor gives a player read-your-writes and keeps the player's own
// successive writes in order (two actors could stamp two quick writes in
// the opposite order before they sync).
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

  // The address requests go to now.
  std::string current_addr() const;

 private:
  class StickyRouter;
  ClientStorage(std::shared_ptr<StickyRouter> router,
                client::ClientOptions options);
  // Runs op; on a network error moves to the next address and runs it once
  // more.
  template <class Op>
  auto with_failover(Op op) -> decltype(op());

  std::shared_ptr<StickyRouter> router_;
  std::unique_ptr<client::Client> client_;
};

}  // namespace cmud::game
