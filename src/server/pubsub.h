// Publish/subscribe on one server: the channels and patterns its clients
// subscribe to, and the hand-off of each message to them. A message
// published on this server is handed out here by the query actor that took
// the PUBLISH, which also sends it, once per other server, inside its next
// sync batch (SyncBatch::messages); the actor that receives it there hands
// it out through that server's PubSub. So delivery is at most once, in the
// order each publisher's messages were published.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cmud::server {

// One published message, shared by every subscriber it is handed to.
struct PubSubMessage {
  std::string channel;
  std::string message;
};

// Thread-safe: sessions of every worker subscribe, and every query actor
// publishes.
class PubSub {
 public:
  // A subscribing client. deliver() runs under the PubSub's lock, on the
  // publisher's thread: it must only hand the message on (post it to the
  // client's own executor), never call back into the PubSub.
  class Subscriber {
   public:
    // `pattern` is the PSUBSCRIBE pattern that matched; empty for a
    // SUBSCRIBE of the channel itself.
    virtual void deliver(std::string_view pattern,
                         const std::shared_ptr<const PubSubMessage>& m) = 0;

   protected:
    ~Subscriber() = default;
  };

  // Each is false when s already had (or did not have) that subscription.
  bool subscribe(Subscriber* s, std::string_view channel);
  bool unsubscribe(Subscriber* s, std::string_view channel);
  bool psubscribe(Subscriber* s, std::string_view pattern);
  bool punsubscribe(Subscriber* s, std::string_view pattern);
  // Drops every subscription of s; after it returns, nothing is delivered
  // to s.
  void remove(Subscriber* s);

  // Hands the message to every subscriber of the channel and to every
  // pattern subscription that matches it; returns how many deliveries that
  // made (Redis's PUBLISH reply, for this server's clients).
  size_t publish(std::string_view channel, std::string_view message);

  // PUBSUB CHANNELS: channels with at least one subscriber here, matching
  // `pattern` when given.
  std::vector<std::string> channels(
      std::optional<std::string_view> pattern) const;
  // PUBSUB NUMSUB: subscribers of one channel here.
  size_t numsub(std::string_view channel) const;
  // PUBSUB NUMPAT: patterns with at least one subscriber here (Redis 7:
  // unique patterns, not subscriptions).
  size_t numpat() const;
  // Clients with at least one subscription (INFO clients).
  size_t subscribers() const;
  // Messages ever published here (by clients of this server or relayed
  // from others), for INFO.
  uint64_t published() const;

 private:
  using Set = std::unordered_set<Subscriber*>;
  using Index = std::unordered_map<std::string, Set>;
  // What each subscriber holds, so remove() need not search every channel.
  struct Held {
    std::unordered_set<std::string> channels;
    std::unordered_set<std::string> patterns;
  };
  // Adds or drops s under `name` in `index` and in s's own set.
  bool add(Index& index, bool pattern, Subscriber* s, std::string_view name);
  bool drop(Index& index, bool pattern, Subscriber* s, std::string_view name);

  mutable std::mutex mu_;
  Index channels_;
  Index patterns_;
  std::unordered_map<Subscriber*, Held> held_;
  uint64_t published_ = 0;
};

}  // namespace cmud::server
