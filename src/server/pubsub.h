// Publish/subscribe on one server: the channels and patterns its clients
// subscribe to, and the hand-off of each message to them. A message
// published on this server is handed out here by the query actor that took
// the PUBLISH, which also sends it, once per other server, inside its next
// sync batch (SyncBatch::messages); the actor that receives it there hands
// it out through that server's PubSub. So delivery is at most once, in the
// order each publisher's messages were published.
#pragma once

#include <atomic>
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

// Keyspace notifications (Redis's notify-keyspace-events): where they go
// (K: __keyspace@0__:<key>, E: __keyevent@0__:<event>) and which events.
enum NotifyFlag : uint32_t {
  kNotifyKeyspace = 1u << 0,  // K
  kNotifyKeyevent = 1u << 1,  // E
  kNotifyGeneric = 1u << 2,   // g: del, expire, rename_from, copy_to...
  kNotifyString = 1u << 3,    // $
  kNotifyList = 1u << 4,      // l
  kNotifySet = 1u << 5,       // s
  kNotifyHash = 1u << 6,      // h
  kNotifyZset = 1u << 7,      // z
  kNotifyExpired = 1u << 8,   // x
  kNotifyEvicted = 1u << 9,   // e
  kNotifyStream = 1u << 10,   // t
  kNotifyKeyMiss = 1u << 11,  // m
  kNotifyModule = 1u << 12,   // d
  kNotifyNew = 1u << 13,      // n
};
// Redis's letters to flags ("A" is g$lshzxetd); nullopt for another letter.
std::optional<uint32_t> parse_notify_flags(std::string_view letters);
// Flags to letters in Redis's order (CONFIG GET).
std::string notify_flags_text(uint32_t flags);

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

  // Keyspace notifications: which (CONFIG SET notify-keyspace-events).
  void set_notify(uint32_t flags) {
    notify_.store(flags, std::memory_order_relaxed);
  }
  uint32_t notify_flags() const {
    return notify_.load(std::memory_order_relaxed);
  }
  // Whether an event of this type is to be sent (one relaxed load).
  bool notifies(uint32_t type) const {
    uint32_t f = notify_.load(std::memory_order_relaxed);
    return (f & type) != 0 && (f & (kNotifyKeyspace | kNotifyKeyevent)) != 0;
  }
  // Publishes the event here (as a Redis Cluster node does: to this
  // server's subscribers): the keyspace message, then the keyevent one.
  void notify(uint32_t type, std::string_view event, std::string_view key);

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

  std::atomic<uint32_t> notify_{0};
  mutable std::mutex mu_;
  Index channels_;
  Index patterns_;
  std::unordered_map<Subscriber*, Held> held_;
  uint64_t published_ = 0;
};

}  // namespace cmud::server
