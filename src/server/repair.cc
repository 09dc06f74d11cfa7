#include "repair.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "cmud/common/codec.h"
#include "messages.h"

namespace cmud::server::repair {
namespace {

enum Kind : uint8_t {
  kShare = 1,
  kGroupDigests = 2,
  kLeafDigests = 3,
  kKeys = 4,
  kWant = 5,
  kMatch = 6,
};

// Sources a record may name: far more query actors than a cluster has.
constexpr uint32_t kMaxSources = 4096;

void write_bounds(codec::Writer& w, const Bounds& b) {
  w.fixed(static_cast<uint32_t>(b.size()));
  for (auto [origin, bound] : b) {
    w.fixed(origin);
    w.fixed(bound);
  }
}

bool read_bounds(codec::Reader& r, Bounds& b) {
  uint32_t n = 0;
  if (!r.fixed(n) || n > kMaxSources || n > r.remaining() / 16) return false;
  b.resize(n);
  for (auto& [origin, bound] : b) {
    if (!r.fixed(origin) || !r.fixed(bound)) return false;
  }
  return true;
}

std::vector<uint32_t> share_groups(uint32_t shares, uint32_t index) {
  std::vector<uint32_t> g;
  for (size_t i = index; i < kGroups; i += shares) {
    g.push_back(static_cast<uint32_t>(i));
  }
  return g;
}

uint64_t group_digest(const kv::Store& store, size_t group) {
  uint64_t d = 0;
  for (size_t l = group * kLeavesPerGroup; l < (group + 1) * kLeavesPerGroup;
       ++l) {
    d ^= store.leaf_digest(l);
  }
  return d;
}

uint64_t share_digest(const kv::Store& store, uint32_t shares, uint32_t index) {
  uint64_t d = 0;
  for (size_t g = index; g < kGroups; g += shares) d ^= group_digest(store, g);
  return d;
}

// One key of a peer's leaf list.
struct PeerKey {
  std::string_view key;
  kv::Version version;
  bool deleted = false;
  uint64_t state = 0;
};

// A key's flags in a kKeys list: deleted, or a counter whose state hash
// follows (two counters at one version differ by their parts).
constexpr uint8_t kKeyDeleted = 1;
constexpr uint8_t kKeyCounter = 2;

// The records of one message, decoded (views into it).
struct Parsed {
  std::vector<std::pair<uint32_t, uint32_t>> shares;  // differing
  std::vector<uint32_t> groups;                       // differing
  std::vector<uint32_t> leaves;                       // differing
  std::map<uint32_t, std::vector<PeerKey>> keys;      // by leaf
  // With the keys: the peer's horizon, if over our sources.
  std::map<uint32_t, uint64_t> horizons;
  std::vector<std::string_view> want;
  bool answers = false;  // the peer answered a difference of ours
  // Shares that match ours (answered with kMatch), and what the peer's
  // bounds tell about groups that match.
  std::vector<std::pair<uint32_t, uint32_t>> matched;
  std::vector<std::pair<std::vector<uint32_t>, Bounds>> learned;
};

bool parse(const kv::Store& store, std::string_view records, bool quiet,
           uint64_t sources_digest, Parsed& p) {
  codec::Reader r(records);
  while (r.remaining() > 0) {
    uint8_t kind = 0;
    if (!r.fixed(kind)) return false;
    switch (kind) {
      case kShare: {
        uint32_t shares = 0, index = 0;
        uint8_t forced = 0;
        uint64_t d = 0;
        Bounds b;
        if (!r.fixed(shares) || !r.fixed(index) || !r.fixed(forced) ||
            !r.fixed(d) || shares == 0 || index >= shares || forced > 1 ||
            !read_bounds(r, b)) {
          return false;
        }
        if (share_digest(store, shares, index) == d) {
          // A round that carries no bounds is not told ours either.
          if (!b.empty()) p.matched.emplace_back(shares, index);
          if (index < kGroups) {
            p.learned.emplace_back(share_groups(shares, index), std::move(b));
          }
        } else if (quiet || forced) {
          p.shares.emplace_back(shares, index);
        }
        break;
      }
      case kMatch: {
        uint32_t shares = 0, index = 0;
        Bounds b;
        if (!r.fixed(shares) || !r.fixed(index) || shares == 0 ||
            index >= shares || !read_bounds(r, b)) {
          return false;
        }
        if (index < kGroups) {
          p.learned.emplace_back(share_groups(shares, index), std::move(b));
        }
        break;
      }
      case kGroupDigests:
      case kLeafDigests: {
        p.answers = true;
        uint32_t n = 0;
        if (!r.fixed(n) || n > kv::Store::kLeaves) return false;
        std::vector<uint32_t> same;
        for (uint32_t i = 0; i < n; ++i) {
          uint32_t at = 0;
          uint64_t d = 0;
          if (!r.fixed(at) || !r.fixed(d)) return false;
          if (kind == kGroupDigests) {
            if (at >= kGroups) return false;
            if (group_digest(store, at) != d) {
              p.groups.push_back(at);
            } else {
              same.push_back(at);
            }
          } else {
            if (at >= kv::Store::kLeaves) return false;
            if (store.leaf_digest(at) != d) p.leaves.push_back(at);
          }
        }
        if (kind == kGroupDigests) {
          // The answerer's bounds, as of these digests.
          Bounds b;
          if (!read_bounds(r, b)) return false;
          if (!same.empty()) p.learned.emplace_back(std::move(same), b);
        }
        break;
      }
      case kKeys: {
        p.answers = true;
        uint32_t leaf = 0, n = 0;
        uint64_t horizon = 0, digest = 0;
        if (!r.fixed(leaf) || leaf >= kv::Store::kLeaves || !r.fixed(horizon) ||
            !r.fixed(digest) || !r.fixed(n) || n > r.remaining()) {
          return false;
        }
        p.horizons[leaf] = digest == sources_digest ? horizon : 0;
        // Two walks that ended between two flushes may both list a leaf:
        // the later list is the newer view of it.
        auto& list = p.keys[leaf];
        list.clear();
        for (uint32_t i = 0; i < n; ++i) {
          PeerKey k;
          uint8_t flags = 0;
          if (!r.view(k.key) || !r.fixed(k.version.hlc) ||
              !r.fixed(k.version.origin) || !r.fixed(flags) ||
              flags > kKeyCounter ||
              (flags == kKeyCounter && !r.fixed(k.state)) ||
              kv::Store::leaf_of(k.key) != leaf) {
            return false;
          }
          k.deleted = flags == kKeyDeleted;
          // In key order, as our merge below needs.
          if (!list.empty() && !(list.back().key < k.key)) return false;
          list.push_back(k);
        }
        break;
      }
      case kWant: {
        p.answers = true;
        uint32_t n = 0;
        if (!r.fixed(n) || n > r.remaining()) return false;
        for (uint32_t i = 0; i < n; ++i) {
          std::string_view k;
          if (!r.view(k)) return false;
          p.want.push_back(k);
        }
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

void push(Reply& out, const kv::Entry& e) {
  kv::append_entry(out.entries, e);
  ++out.count;
}

}  // namespace

Bounds Knowledge::bounds(uint32_t shares, uint32_t index) const {
  Bounds b;
  b.emplace_back(self_, clock_);
  for (const auto& [origin, groups] : known_) {
    uint64_t least = UINT64_MAX;
    for (size_t g = index; g < kGroups; g += shares) {
      least = std::min(least, groups[g]);
    }
    if (least != 0 && least != UINT64_MAX) b.emplace_back(origin, least);
  }
  return b;
}

void Knowledge::learn(const std::vector<uint32_t>& groups, const Bounds& b) {
  for (auto [origin, bound] : b) {
    if (origin == self_ || bound == 0) continue;
    if (known_.size() >= kMaxSources && !known_.contains(origin)) continue;
    auto& mine = known_[origin];
    for (uint32_t g : groups) {
      if (g < kGroups) mine[g] = std::max(mine[g], bound);
    }
  }
}

void Knowledge::learn_range(uint64_t source, uint64_t from, uint64_t to) {
  if (source == self_ || to <= from) return;
  auto it = known_.find(source);
  if (it == known_.end()) {
    if (from != 0 || known_.size() >= kMaxSources) return;
    it = known_.try_emplace(source).first;
  }
  for (uint64_t& bound : it->second) {
    if (bound >= from) bound = std::max(bound, to);
  }
}

uint64_t Knowledge::complete_below(const std::vector<uint64_t>& sources) const {
  uint64_t least = clock_;
  for (uint64_t s : sources) {
    if (s == self_) continue;
    auto it = known_.find(s);
    if (it == known_.end()) return 0;
    for (uint64_t bound : it->second) least = std::min(least, bound);
  }
  return least;
}

uint64_t Knowledge::least(uint64_t source) const {
  auto it = known_.find(source);
  if (it == known_.end()) return 0;
  return *std::min_element(it->second.begin(), it->second.end());
}

void Knowledge::keep_only(const std::vector<uint64_t>& sources) {
  std::erase_if(known_, [&](const auto& kv) {
    return std::find(sources.begin(), sources.end(), kv.first) == sources.end();
  });
}

void open_round(const kv::Store& store, uint32_t shares, uint32_t index,
                bool forced, std::string& records, const Knowledge* known) {
  if (shares == 0 || index >= kGroups) return;
  codec::Writer w(records);
  w.fixed(static_cast<uint8_t>(kShare));
  w.fixed(shares);
  w.fixed(index);
  w.fixed<uint8_t>(forced ? 1 : 0);
  w.fixed(share_digest(store, shares, index));
  write_bounds(w, known ? known->bounds(shares, index) : Bounds());
}

bool answer(const kv::Store& store, std::string_view records, bool quiet,
            size_t max_bytes, Reply& out, LeafWalk* walk, Knowledge* known,
            uint64_t sources_digest) {
  Parsed p;
  if (!parse(store, records, quiet, sources_digest, p)) return false;
  out.differs |= p.answers || !p.shares.empty() || !p.groups.empty() ||
                 !p.leaves.empty() || !p.keys.empty() || !p.want.empty();
  size_t budget_end = out.records.size() + out.entries.size() + max_bytes;
  auto full = [&] {
    return out.records.size() + out.entries.size() >= budget_end;
  };
  codec::Writer w(out.records);

  if (known != nullptr) {
    for (const auto& [groups, bounds] : p.learned) known->learn(groups, bounds);
    // A match teaches the peer what we are known to hold (after what it
    // taught us: we held the same).
    for (auto [shares, index] : p.matched) {
      w.fixed(static_cast<uint8_t>(kMatch));
      w.fixed(shares);
      w.fixed(index);
      write_bounds(w, known->bounds(shares, index));
    }
  }
  for (auto [shares, index] : p.shares) {
    w.fixed(static_cast<uint8_t>(kGroupDigests));
    w.fixed(static_cast<uint32_t>((kGroups - index + shares - 1) / shares));
    for (size_t g = index; g < kGroups; g += shares) {
      w.fixed(static_cast<uint32_t>(g));
      w.fixed(group_digest(store, g));
    }
    write_bounds(w, known ? known->bounds(shares, index) : Bounds());
  }
  if (!p.groups.empty()) {
    w.fixed(static_cast<uint8_t>(kLeafDigests));
    w.fixed(static_cast<uint32_t>(p.groups.size() * kLeavesPerGroup));
    for (uint32_t g : p.groups) {
      for (size_t l = g * kLeavesPerGroup; l < (g + 1) * kLeavesPerGroup; ++l) {
        w.fixed(static_cast<uint32_t>(l));
        w.fixed(store.leaf_digest(l));
      }
    }
  }
  for (std::string_view k : p.want) {
    if (full()) break;
    if (const kv::Entry* e = store.find(k)) push(out, *e);
  }

  // Differing leaves (our key lists go to the peer) and the peer's key
  // lists (compared with ours) need our entries of those leaves: found by
  // a walk of the replica, bounded per turn. One walk at a time per peer;
  // what comes meanwhile is found again next round.
  if ((p.leaves.empty() && p.keys.empty()) || walk == nullptr ||
      !walk->empty()) {
    return true;
  }
  // Only as many leaves as one answer can carry (about 40 bytes a key, at
  // the store's mean keys per leaf): a walk gathers nothing it would throw
  // away, and the rest is found again next round.
  size_t per_leaf = std::max<size_t>(1, store.size() / kv::Store::kLeaves);
  size_t cap = std::max<size_t>(16, max_bytes / 40 / per_leaf);
  walk->wanted_.assign(kv::Store::kLeaves, false);
  walk->horizon_ = store.horizon().hlc;
  walk->sources_digest_ = sources_digest;
  if (p.leaves.size() > cap) p.leaves.resize(cap);
  walk->leaves_ = std::move(p.leaves);
  for (uint32_t l : walk->leaves_) walk->wanted_[l] = true;
  size_t taken = walk->leaves_.size();
  for (const auto& [l, list] : p.keys) {
    if (taken++ >= 2 * cap) break;
    walk->wanted_[l] = true;
    walk->their_horizons_[l] = p.horizons[l];
    auto& theirs = walk->theirs_[l];
    for (const auto& k : list) {
      theirs.push_back({std::string(k.key), k.version, k.deleted, k.state,
                        k.version, false});
    }
  }
  return true;
}

bool LeafWalk::step(const kv::Store& store, size_t budget) {
  size_t n = 0;
  auto take = [&](const kv::Entry& e) {
    if (n == budget) return false;
    ++n;
    auto l = static_cast<uint32_t>(kv::Store::leaf_of(e.key()));
    if (wanted_[l]) {
      ours_[l].push_back({std::string(e.key()), e.version(), e.deleted(),
                          kv::Store::extra_hash(e), kv::Store::top(e),
                          e.counter()});
    }
    return true;
  };
  after_ = started_ ? store.walk(*after_, /*after=*/true, take)
                    : store.walk("", /*after=*/false, take);
  started_ = true;
  return !after_.has_value();
}

void LeafWalk::finish(const kv::Store& store, size_t max_bytes, Reply& out) {
  size_t budget_end = out.records.size() + out.entries.size() + max_bytes;
  auto full = [&] {
    return out.records.size() + out.entries.size() >= budget_end;
  };
  codec::Writer w(out.records);
  for (uint32_t l : leaves_) {
    if (full()) break;
    const auto& list = ours_[l];
    w.fixed(static_cast<uint8_t>(kKeys));
    w.fixed(l);
    w.fixed(horizon_);
    w.fixed(sources_digest_);
    w.fixed(static_cast<uint32_t>(list.size()));
    for (const Key& k : list) {
      w.bytes(k.key);
      w.fixed(k.version.hlc);
      w.fixed(k.version.origin);
      if (k.state != 0) {
        w.fixed(kKeyCounter);
        w.fixed(k.state);
      } else {
        w.fixed(k.deleted ? kKeyDeleted : uint8_t{0});
      }
    }
  }
  // Pushed as they are now (a key may have changed since it was walked).
  auto push_current = [&](const std::string& key) {
    if (const kv::Entry* e = store.find(key)) push(out, *e);
  };
  std::vector<const std::string*> want;
  const kv::Version& horizon = store.horizon();
  for (const auto& [l, theirs] : theirs_) {
    // Both lists are in key order (our walk's, and the peer's walk's).
    const auto& mine = ours_[l];
    kv::Version their_horizon{their_horizons_[l], 0};
    size_t i = 0, j = 0;
    while ((i < mine.size() || j < theirs.size()) && !full()) {
      int c = i == mine.size()     ? 1
              : j == theirs.size() ? -1
                                   : mine[i].key.compare(theirs[j].key);
      if (c < 0) {
        // They lack it. Wholly below their horizon, they would refuse it:
        // a tombstone they freed, or a value such a tombstone passed. It
        // goes here too (a server back from a restart holds tombstones
        // the others freed while its own horizon is still behind).
        const Key& a = mine[i++];
        if (!(a.top < their_horizon) || a.counter || kv::is_system_key(a.key)) {
          push_current(a.key);
        } else {
          out.stale.emplace_back(a.key, a.version);
          out.stale_horizon = std::max(out.stale_horizon, their_horizon.hlc);
        }
      } else if (c > 0) {
        // We lack it; below our horizon (with no later expiry, and not a
        // counter: flagged as state) the store would refuse it.
        const Key& b = theirs[j++];
        if (!(b.version < horizon && b.state == 0) ||
            kv::is_system_key(b.key)) {
          want.push_back(&b.key);
        }
      } else {
        const Key& a = mine[i];
        const Key& b = theirs[j];
        // Ours goes also when its expiry's version (a counter's stamp) is
        // newer than their write: it may win by it (kv::Store::apply).
        if (b.version < a.version || b.version < a.top) push_current(a.key);
        if (a.version < b.version) want.push_back(&b.key);
        if (a.version == b.version &&
            (a.state != b.state || a.deleted != b.deleted)) {
          // One write, different parts, expiries or a tombstone (a freed
          // value shown again): each side merges the other's.
          push_current(a.key);
          want.push_back(&b.key);
        }
        ++i;
        ++j;
      }
    }
  }
  if (!want.empty()) {
    w.fixed(static_cast<uint8_t>(kWant));
    w.fixed(static_cast<uint32_t>(want.size()));
    for (const std::string* k : want) w.bytes(*k);
  }
  *this = LeafWalk();
}

}  // namespace cmud::server::repair
