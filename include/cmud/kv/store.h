// Store: one replica of the key-value store, with the change log that sync
// reads from.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "cmud/kv/version.h"

namespace cmud::kv {

// One key's state. A delete is a tombstone: deleted == true, value empty,
// merged by the same rule as any other write.
struct Entry {
  std::string value;
  Version version;
  bool deleted = false;
  uint64_t seq = 0;  // the change-log record that is current for this key
};

// Where a change must still travel (bits of Store::apply's `route`).
enum Route : uint8_t {
  kRouteNone = 0,
  kRouteLocal = 1,   // to the other query actors of this server
  kRouteRemote = 2,  // to other servers
};

// A key-value replica ordered by key (so List(prefix) is O(log n + k)) with
// a change log: every applied change that must travel gets a sequence
// number; readers keep a cursor and ask for what came after it. A key
// changed many times between two reads yields one record.
// Thread-compatible: owned by one actor.
class Store {
 public:
  using Map = std::map<std::string, Entry, std::less<>>;

  // Merges a write: applied only if `version` is greater than the key's
  // current version (last writer wins; ACI). Returns true if applied; the
  // change is logged for `route` (kRouteNone: applied but not logged, and
  // any older record of this key no longer counts).
  bool apply(std::string_view key, std::string_view value, Version version,
             bool deleted, uint8_t route);

  // The live value, or nullopt when absent or deleted.
  std::optional<std::string_view> get(std::string_view key) const;
  // The entry including tombstones; null when never written.
  const Entry* find(std::string_view key) const;

  // Calls f(key, entry) for live entries whose key starts with prefix, in
  // key order. f returns false to stop.
  void for_each_prefix(
      std::string_view prefix,
      const std::function<bool(const std::string&, const Entry&)>& f) const;

  // Walks all entries (tombstones too) in key order from `from` (the first
  // key > from when `after`, else >= from), calling f until it returns false
  // to stop without taking that entry. Returns the key to resume after (the
  // last one taken), or nullopt when the walk reached the end.
  // REQUIRES: f takes the first entry it is offered.
  std::optional<std::string> walk(
      std::string_view from, bool after,
      const std::function<bool(const std::string&, const Entry&)>& f) const;

  // Calls f(key, entry) for each current change record after `cursor` whose
  // route has a bit of `mask`, in log order. f returns false to stop without
  // taking that record. Returns the new cursor: the last record taken or
  // passed over.
  uint64_t changes_since(
      uint64_t cursor, uint8_t mask,
      const std::function<bool(const std::string&, const Entry&)>& f) const;

  // Forgets records at or before `cursor` (every reader is past them).
  void trim(uint64_t cursor);

  // The sequence number of the newest record (0 when none yet).
  uint64_t last_seq() const { return next_seq_ - 1; }
  size_t live_size() const { return live_; }
  size_t size() const { return map_.size(); }
  size_t log_size() const { return log_.size(); }

 private:
  struct Record {
    uint64_t seq;
    Map::iterator it;
    uint8_t route;
  };

  Map map_;
  std::deque<Record> log_;
  uint64_t next_seq_ = 1;
  size_t live_ = 0;
};

}  // namespace cmud::kv
