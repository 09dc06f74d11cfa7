// Store: one replica of the key-value store, with the change log that sync
// reads from.
#pragma once

#include <absl/container/btree_set.h>
#include <absl/container/flat_hash_set.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cmud/kv/version.h"

namespace cmud::kv {

class Counter;

// When a key expires: its own last-writer-wins field of the entry, so an
// EXPIRE or PERSIST made on one server and a SET made on another at the
// same time both keep their effect (the SET's value, the later of the two
// expiries). A write of a value sets it too (none, or the write's TTL),
// at the write's version.
struct Expiry {
  uint64_t at_ms = 0;  // wall-clock milliseconds when it expires; 0: never
  Version version;     // of the write that set it
  friend bool operator==(const Expiry&, const Expiry&) = default;
};

// One entry as it travels (sync, repair, logs): views into a buffer.
struct EntryView {
  std::string_view key;
  std::string_view value;
  uint64_t hlc = 0;
  uint64_t origin = 0;
  bool deleted = false;
  std::string_view meta;  // a counter's state (kv::Counter); else empty
  // nullopt: none, set by this write ({0, version()}).
  std::optional<Expiry> expiry;
  // A plain value that expired and was freed where it comes from (value
  // empty): kept as such, dead at its expiry as the value was.
  bool reclaimed = false;
  // A second write of the key, held beside this one until it is known
  // which of the two shows (Store::apply): a counter begun where the key
  // was gone (stamped), and a write of a newer version that an expiry not
  // yet seen may show dead by the stamp; the one that does not show is
  // held here, encoded as an entry without its key (entry_wire.h). Empty:
  // none.
  std::string_view pending = {};

  Version version() const { return {hlc, origin}; }
};

// One key's state, kept in a single allocation (header, key bytes, value
// bytes, meta bytes, expiry, pending write). A delete is a tombstone:
// deleted() and an
// empty value, merged by the same rule as any other write. A counter
// (kv::Counter) keeps its encoded state as meta and its total, in decimal,
// as the value. An expiry other than the default is kept after the meta.
// Immutable once made, but for the store's in-place rewrites.
class Entry {
 public:
  std::string_view key() const { return {data(), key_len_}; }
  std::string_view value() const { return {data() + key_len_, value_len_}; }
  // A counter's state (kv::Counter); empty for a plain value or tombstone.
  std::string_view meta() const {
    return {data() + key_len_ + value_len_, meta_len_};
  }
  bool counter() const { return meta_len_ != 0; }
  const Version& version() const { return version_; }
  bool deleted() const { return deleted_; }
  // {0, version()} unless a TTL, EXPIRE or PERSIST set another.
  Expiry expiry() const;
  bool has_expiry() const { return has_expiry_; }
  // The write held beside this one (EntryView::pending), encoded; empty
  // for none.
  std::string_view pending() const;
  // Expired and its value freed (Store::reclaim): it reads as absent. A
  // counter travels as what it was (it kept its parts); a value travels
  // marked as freed (EntryView::reclaimed), see view().
  bool reclaimed() const { return reclaimed_; }
  bool expired_at(uint64_t now_ms) const {
    if (!has_expiry_) return false;
    uint64_t at = expiry().at_ms;
    return at != 0 && at <= now_ms;
  }
  // The view that travels (sync, repair, logs, snapshots). A value that
  // was reclaimed goes marked so: a receiver must not take its empty value
  // for the value, which a later PERSIST would show (a value's digest
  // leaves the value out, so repair would never mend it).
  EntryView view() const;
  // The change-log record that is current for this key (0: none).
  uint64_t seq() const { return seq_; }

 private:
  friend class Store;
  Entry() = default;
  const char* data() const { return reinterpret_cast<const char*>(this + 1); }
  char* data() { return reinterpret_cast<char*>(this + 1); }

  Version version_;
  uint64_t seq_ = 0;
  uint32_t key_len_ = 0;
  uint32_t value_len_ = 0;
  uint32_t meta_len_ = 0;
  bool deleted_ = false;
  bool has_expiry_ = false;
  bool reclaimed_ = false;
  bool has_pending_ = false;  // u32 length and bytes after the expiry
};

// The system key space: keys under this prefix hold the cluster's own data
// (ACL users). They replicate as any key does, but no client command reaches
// them (the query ports refuse and hide them) and the floor does not clear
// them, so they outlive FLUSHALL.
inline constexpr std::string_view kSystemPrefix{
    "\xff\xff"
    "cmud/",
    7};
inline bool is_system_key(std::string_view key) {
  // The first byte alone rules out nearly every key, on every write.
  return !key.empty() && key[0] == '\xff' && key.starts_with(kSystemPrefix);
}

// Where a change must still travel (bits of Store::apply's `route`).
enum Route : uint8_t {
  kRouteNone = 0,
  kRouteLocal = 1,   // to the other query actors of this server
  kRouteRemote = 2,  // to other servers
};

// A key-value replica with two indexes over the same entries: a hash set
// for point lookups and a B-tree in key order, so List(prefix) is
// O(log n + k). It also keeps a change log: every applied change that must
// travel gets a sequence number; readers keep a cursor and ask for what came
// after it. A key changed many times between two reads yields one record.
// Thread-compatible: owned by one actor.
class Store {
 public:
  using Visit = std::function<bool(const Entry&)>;

  Store() = default;
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Merges a write: applied only if `version` is greater than the key's
  // current version (last writer wins; ACI). Returns true if applied; the
  // change is logged for `route` (kRouteNone: applied but not logged, and
  // any older record of this key no longer counts).
  // A counter's state comes as `meta` (kv::Counter's encoding; its value is
  // the total, computed here, so `value` is not read). At the version the
  // key already has, it merges with what is there (a plain number at that
  // version is its base): applied if that added to it. Malformed meta, or
  // a base that disagrees with the key's value at that version, is refused.
  // At one version a tombstone beats a plain value (a reclaimed entry
  // whose value was needed again turns into one) and a counter beats both.
  // The expiry merges on its own: the one with the greater version stays,
  // whichever value does. A counter begun on an absent key (stamped) and a
  // newer write are both kept until it is known which shows (apply_pair);
  // an entry holding both (EntryView::pending) merges as the two writes.
  // REQUIRES: key and value each shorter than 4 GiB.
  bool apply(const EntryView& e, uint8_t route);
  bool apply(std::string_view key, std::string_view value, Version version,
             bool deleted, uint8_t route, std::string_view meta = {}) {
    return apply(EntryView{key, value, version.hlc, version.origin, deleted,
                           meta, std::nullopt},
                 route);
  }

  // The wall-clock time reads compare expiries with (the owner sets it as
  // its clock moves). An entry expired by it reads as absent.
  void set_now(uint64_t now_ms) { now_ms_ = now_ms; }
  uint64_t now() const { return now_ms_; }
  // Not deleted, not expired: what GET shows.
  bool live(const Entry& e) const {
    return !e.deleted_ && !e.reclaimed_ && !e.expired_at(now_ms_);
  }
  // Frees the values of at most max_visit entries that expired by now
  // (set_now), earliest first: each stays as a tombstone of its own
  // version and expiry, so nothing is written and no digest changes.
  // Returns how many it freed.
  // on_freed, if given, is told each key freed.
  size_t reclaim(size_t max_visit,
                 const std::function<void(std::string_view)>& on_freed = {});
  // Entries with an expiry that reclaim() has not freed yet.
  size_t expiring() const { return by_expiry_.size(); }

  // Copies every entry of `other` (tombstones too), its digests and its
  // floor, as if applied with kRouteNone but without a lookup per entry:
  // loading a recovered replica. REQUIRES: this store is empty.
  void copy_from(const Store& other);
  // Exchanges the whole contents (entries, log, digests, floor) with other.
  void swap(Store& other) noexcept;
  // Makes room for n entries in the hash index (loading a replica).
  void reserve(size_t n) { by_hash_.reserve(n); }

  // The floor that applies to `key`: none (the zero version) in the
  // system key space.
  const Version& floor_for(std::string_view key) const {
    return is_system_key(key) ? kNoFloor : floor_;
  }

  // The live value, or nullopt when absent, deleted, expired or below the
  // floor.
  // The view is valid until the key is next written.
  std::optional<std::string_view> get(std::string_view key) const;
  // The entry including tombstones; null when never written or below the
  // floor.
  const Entry* find(std::string_view key) const;

  // Calls f(i) for i in [0, n) in order. Keys are taken a chunk at a time:
  // first the index slots of the chunk's keys are asked into the cache, then
  // their entries, then f runs on each; so the cache misses of a run of
  // random keys overlap instead of each stalling in turn (a replica is far
  // larger than the caches). key(i) returns an empty view when op i has no
  // single key to warm.
  template <class KeyAt, class F>
  void for_each_warmed(size_t n, const KeyAt& key, const F& f) const {
    constexpr size_t kChunk = 16;
    if (n < 2) {  // nothing to overlap with
      if (n == 1) f(size_t{0});
      return;
    }
    size_t hashes[kChunk];
    for (size_t begin = 0; begin < n; begin += kChunk) {
      size_t end = std::min(n, begin + kChunk);
      for (size_t i = begin; i < end; ++i) {
        hashes[i - begin] = prefetch_slot(key(i));
      }
      for (size_t i = begin; i < end; ++i) {
        prefetch_entry(key(i), hashes[i - begin]);
      }
      for (size_t i = begin; i < end; ++i) f(i);
    }
  }

  // Calls f for live entries (not deleted, not expired) whose key starts
  // with prefix, in key order, until it returns false.
  void for_each_prefix(std::string_view prefix, const Visit& f) const;

  // Walks all entries (tombstones too, not those below the floor) in key
  // order from `from` (the first
  // key > from when `after`, else >= from), calling f until it returns false
  // to stop without taking that entry. Returns the key to resume after (the
  // last one taken), or nullopt when the walk reached the end.
  // REQUIRES: f takes the first entry it is offered.
  std::optional<std::string> walk(std::string_view from, bool after,
                                  const Visit& f) const;

  // A live entry outside the system key space picked at random
  // (RANDOMKEY), or null when there is none:
  // a point drawn uniformly between the first and the last key (their
  // common prefix, then the next 8 bytes as a number), a random 0..63
  // entries on from there, then the first live one. Roughly even, not
  // exactly (keys after wide gaps are likelier). `random` supplies the
  // draws. Bounded work per draw; a replica that is nearly all tombstones
  // falls back to a walk from the start.
  const Entry* random_live(const std::function<uint64_t()>& random) const;

  // Calls f for each current change record after `cursor` whose route has a
  // bit of `mask` and whose entry is not below the floor, in log order. f
  // returns false to stop without taking that record. Returns the new cursor:
  // the last record taken or passed over.
  uint64_t changes_since(uint64_t cursor, uint8_t mask, const Visit& f) const;

  // Logs `key`'s entry again, to go where `route` says (and wherever its
  // record still waits to go): a peer that must get this replica's newer
  // entry although it already went out. False if the key is absent.
  bool touch(std::string_view key, uint8_t route);

  // Forgets records at or before `cursor` (every reader is past them).
  void trim(uint64_t cursor);

  // The sequence number of the newest record (0 when none yet).
  uint64_t last_seq() const { return next_seq_ - 1; }

  // The floor: every version below it is known to be cleared everywhere, so
  // a write below it is stale (kv::admit says kStale; apply() refuses it).
  // Raised by max, so replicas that raise it in any order agree (FLUSHALL
  // raises it). Raising it is O(1): entries below it vanish at once from
  // get, find, walks and the change log, and purge() frees them in bounded
  // steps. When the floor passes every version the replica holds, they
  // also leave live_size() and the digests at once; otherwise each leaves
  // them as purge() reaches it. Returns true if the floor rose.
  const Version& floor() const { return floor_; }
  bool raise_floor(const Version& v);
  // Entries below the floor wait to be freed.
  bool purging() const { return purging_; }
  // Visits at most max_visit entries (in key order, resuming where the last
  // call stopped), freeing those below the floor. Returns purging().
  bool purge(size_t max_visit);
  // Tombstone collection. Every member holds every write below `horizon`
  // (the cluster's horizon, see repair::Knowledge in the server), so a
  // tombstone (a delete, or an expired value that reclaim() freed) whose
  // versions, its write's and its expiry's, are both below it has done its
  // work: no older version of its key can still come from a member. From
  // then on apply() refuses a write below the horizon that would fill an
  // absent key or replace what this replica holds (this replica held every
  // write below it, or a newer one of its key, so such a write is stale);
  // but one whose expiry is newer than the horizon, which merges as a
  // tombstone of its version, and a counter begun where its key was gone
  // (on the floor) whose stamp, its expiry's version, is newer, which
  // merges as ever. Frees at most max_visit such
  // tombstones, oldest first (an index by version: the work is what it frees),
  // and returns true while more wait; once none does, a hash index that is
  // mostly empty is shrunk (a mass delete's room comes back). The horizon never
  // goes back; the system key space is left alone. `freed`, if given, sees
  // each tombstone before it goes.
  bool collect(const Version& horizon, size_t max_visit,
               const Visit* freed = nullptr);
  const Version& horizon() const { return horizon_; }
  uint64_t collected() const { return collected_; }
  // Tombstones outside the system key space, waiting for the horizon.
  size_t tombstones() const { return by_death_.size(); }
  // Entries holding a pending write (EntryView::pending).
  size_t pending_writes() const { return pending_; }
  // Frees `key`'s entry if it is still at `version`, without a tombstone:
  // repair found it stale (a replica whose horizon passed it lacks it: a
  // tombstone there passed it, or was it, and was freed). Returns true if
  // freed.
  bool drop_stale(std::string_view key, const Version& version);
  // Anti-entropy digests. The key space is cut into kLeaves leaves by a
  // hash of the key that is the same on every server (the index's hash is
  // seeded per process); a leaf's digest is the XOR of its entries'
  // digests (key, version, deleted), kept up to date by apply(), so two
  // replicas holding the same entries in a leaf have the same digest and
  // one differing entry changes it. Values are not hashed: one version has
  // one value everywhere.
  static constexpr int kLeafBits = 14;
  static constexpr size_t kLeaves = size_t{1} << kLeafBits;
  static uint64_t stable_hash(std::string_view key);
  static size_t leaf_of(std::string_view key) {
    return static_cast<size_t>(stable_hash(key) >> (64 - kLeafBits));
  }
  // A counter's state and an expiry change the digest (extra_hash, 0 for
  // neither): two replicas with different parts or expiries at one
  // version differ.
  static uint64_t entry_digest(uint64_t key_hash, const Version& v,
                               bool deleted, uint64_t extra);
  static uint64_t extra_hash(const Entry& e);
  // The newest version e holds: its expiry's (never below its write's),
  // or its pending write's or that one's expiry's if newer.
  static Version top(const Entry& e);
  uint64_t leaf_digest(size_t leaf) const { return leaves_[leaf]; }

  size_t live_size() const { return live_; }
  // Live entries outside the system key space (DBSIZE): O(system keys).
  size_t client_live_size() const;
  size_t size() const { return by_key_.size(); }
  size_t log_size() const { return log_.size(); }
  // What the change log keeps alive: its records and the replaced entries
  // they still name (bytes, approximately). A reader that lags keeps it
  // growing; the query actor bounds it (SyncOptions::max_log_bytes).
  size_t log_bytes() const {
    return log_.size() * sizeof(Record) + retired_bytes_;
  }

 private:
  struct Record {
    uint64_t seq;
    Entry* entry;  // current while entry->seq() == seq
    uint8_t route;
  };
  // An entry replaced by a larger or smaller one, kept until no record can
  // name it: records naming it have seq <= `last`.
  struct Retired {
    uint64_t last;
    Entry* entry;
  };
  // Both indexes compare entries by key and look up by string_view.
  struct Less {
    using is_transparent = void;
    static std::string_view k(const Entry* e) { return e->key(); }
    static std::string_view k(std::string_view s) { return s; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return k(a) < k(b);
    }
  };
  // A hash-index slot: an entry and its key's hash, so that rehashing and
  // probing compare hashes and read an entry only on a likely match.
  struct Slot {
    Entry* entry;
    size_t hash;
  };
  // A lookup by key; with `exact` false it takes any slot of that hash,
  // which names the likely entry without reading it (to prefetch it).
  struct Probe {
    std::string_view key;
    size_t hash;
    bool exact = true;
  };
  struct SlotHash {
    using is_transparent = void;
    size_t operator()(const Slot& s) const { return s.hash; }
    size_t operator()(const Probe& p) const { return p.hash; }
  };
  struct SlotEq {
    using is_transparent = void;
    bool operator()(const Slot& a, const Slot& b) const {
      return a.hash == b.hash && a.entry->key() == b.entry->key();
    }
    bool operator()(const Probe& p, const Slot& s) const {
      return p.hash == s.hash && (!p.exact || s.entry->key() == p.key);
    }
    bool operator()(const Slot& s, const Probe& p) const {
      return (*this)(p, s);
    }
  };
  static size_t hash_of(std::string_view key);

  // Returns the key's hash (0 for an empty key, which is not warmed).
  size_t prefetch_slot(std::string_view key) const {
    if (key.empty()) return 0;
    size_t hash = hash_of(key);
    by_hash_.prefetch(Probe{key, hash});
    return hash;
  }
  void prefetch_entry(std::string_view key, size_t hash) const;

  // expiry: nullopt for the default ({0, version}).
  static Entry* make(std::string_view key, std::string_view value,
                     Version version, bool deleted, std::string_view meta,
                     std::optional<Expiry> expiry,
                     std::string_view pending = {});
  // One write merged into one entry (merge()).
  struct Merged;
  // Merges `in` into `old` (null: none) by the version rule; false if
  // nothing changes or it is refused. `stale`: below the horizon and not
  // newer than what the key holds (apply()). `incoming`: in's counter.
  bool merge(const Entry* old, const EntryView& in, bool stale,
             std::optional<Counter> incoming, Merged& out) const;
  // apply() for a key that holds, or is about to hold, two writes (a
  // stamped counter and a write of a newer version): each merges with its
  // own kind, then which shows is decided.
  using HashIndex = absl::flat_hash_set<Slot, SlotHash, SlotEq>;
  bool apply_pair(Entry* old, HashIndex::iterator it, const EntryView& in,
                  bool stale, std::optional<Counter> incoming, uint8_t route);
  // Stores a merge's result for `key` in place of `old` (null: none; `it`
  // its slot).
  void put(Entry* old, HashIndex::iterator it, std::string_view key,
           size_t hash, const Version& version, bool deleted,
           std::string_view value, std::string_view meta, const Expiry& expiry,
           bool freed, std::string_view pending, uint8_t route);
  static uint64_t digest_of(uint64_t key_hash, const Entry* e) {
    return entry_digest(key_hash, e->version_, e->deleted_, extra_hash(*e));
  }
  // Adds e to, or drops it from, the expiry and tombstone indexes.
  void index(Entry* e);
  void unindex(Entry* e);
  static void destroy(Entry* e);
  // Where e's record still waits to go (kRouteNone: it went, or none).
  uint8_t pending_route(const Entry* e) const;
  static size_t footprint(const Entry* e) {
    return sizeof(Entry) + e->key().size() + e->value().size();
  }
  // Frees e now, or once no change record can name it.
  void retire(Entry* e);
  // Takes e out of every index and the digests (if counted), and retires
  // it; returns the next entry in key order.
  absl::btree_set<Entry*, Less>::iterator erase(
      absl::btree_set<Entry*, Less>::iterator it);
  bool below_floor(const Entry* e) const {
    return e->version_ < floor_ && !is_system_key(e->key());
  }
  // Whether e is in live_ (if not deleted) and its leaf's digest: all
  // entries but those below the floor at which the whole replica was
  // written off at once (raise_floor).
  bool counted(const Entry* e) const {
    return !(e->version_ < cleared_) || is_system_key(e->key());
  }
  static constexpr Version kNoFloor{};

  // XOR of entry_digest over each leaf's entries.
  std::unique_ptr<uint64_t[]> leaves_ = std::make_unique<uint64_t[]>(kLeaves);
  HashIndex by_hash_;
  absl::btree_set<Entry*, Less> by_key_;
  std::deque<Record> log_;
  std::deque<Retired> retired_;
  size_t retired_bytes_ = 0;  // the entries of retired_
  uint64_t next_seq_ = 1;
  Version floor_;
  Version cleared_;      // see counted()
  Version max_version_;  // the greatest version ever applied
  // The next key purge() visits (from the start when nullopt).
  std::optional<std::string> purge_from_;
  bool purging_ = false;
  // Tombstone collection: the horizon, and how many it freed.
  Version horizon_;
  uint64_t collected_ = 0;
  // Tombstones (deleted or reclaimed, outside the system key space) by
  // their expiry's version (never below the write's), until collected.
  absl::btree_set<std::pair<Version, Entry*>> by_death_;
  size_t live_ = 0;
  size_t pending_ = 0;  // entries holding a pending write
  uint64_t now_ms_ = 0;
  // Entries with an expiry, by when, until reclaim() frees them.
  absl::btree_set<std::pair<uint64_t, Entry*>> by_expiry_;
};

}  // namespace cmud::kv
