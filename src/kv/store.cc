#include "cmud/kv/store.h"

#include <absl/hash/hash.h>

#include "cmud/common/ascii.h"
#include "cmud/common/hash.h"
#include "cmud/kv/counter.h"
#include "cmud/kv/entry_wire.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace cmud::kv {

size_t Store::hash_of(std::string_view key) {
  return absl::Hash<std::string_view>()(key);
}

namespace {
// splitmix64's finaliser: spreads FNV's weak low bits over all 64.
constexpr uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

uint64_t Store::stable_hash(std::string_view key) { return mix(fnv1a_64(key)); }

uint64_t Store::entry_digest(uint64_t key_hash, const Version& v, bool deleted,
                             uint64_t extra) {
  return mix(key_hash ^ mix(v.hlc + 0x9e3779b97f4a7c15ull) ^
             mix(v.origin ^ 0x6a09e667f3bcc909ull) ^ (deleted ? 0xdull : 0) ^
             extra);
}

uint64_t Store::extra_hash(const Entry& e) {
  if (!e.counter() && !e.has_expiry() && !e.has_pending_) return 0;
  uint64_t h = 0;
  if (e.counter()) h = mix(fnv1a_64(e.meta()) ^ 0xbb67ae8584caa73bull);
  if (e.has_expiry()) {
    Expiry x = e.expiry();
    h ^= mix(x.at_ms ^ mix(x.version.hlc + 0x3c6ef372fe94f82bull) ^
             mix(x.version.origin ^ 0xa54ff53a5f1d36f1ull));
  }
  if (e.has_pending_) h ^= mix(fnv1a_64(e.pending()) ^ 0x510e527fade682d1ull);
  return h == 0 ? 1 : h;  // 0 means "none of them"
}

Version Store::top(const Entry& e) {
  Version top = e.expiry().version;
  EntryView p;
  if (e.has_pending_ && read_pending(e.key(), e.pending(), p)) {
    top = std::max({top, p.version(), p.expiry.value_or(Expiry{}).version});
  }
  return top;
}

Expiry Entry::expiry() const {
  if (!has_expiry_) return {0, version_};
  Expiry x;
  const char* p = data() + key_len_ + value_len_ + meta_len_;
  std::memcpy(&x.at_ms, p, 8);
  std::memcpy(&x.version.hlc, p + 8, 8);
  std::memcpy(&x.version.origin, p + 16, 8);
  return x;
}

constexpr size_t kExpiryBytes = 24;

std::string_view Entry::pending() const {
  if (!has_pending_) return {};
  const char* p = data() + key_len_ + value_len_ + meta_len_ +
                  (has_expiry_ ? kExpiryBytes : 0);
  uint32_t n = 0;
  std::memcpy(&n, p, 4);
  return {p + 4, n};
}

EntryView Entry::view() const {
  return {key(),
          value(),
          version_.hlc,
          version_.origin,
          deleted_,
          meta(),
          has_expiry_ ? std::optional<Expiry>(expiry()) : std::nullopt,
          reclaimed_ && !counter(),
          pending()};
}

namespace {
// memcpy of an empty view may pass a null pointer, which is undefined.
void copy_into(char* dst, std::string_view src) {
  if (!src.empty()) std::memcpy(dst, src.data(), src.size());
}
}  // namespace

Entry* Store::make(std::string_view key, std::string_view value,
                   Version version, bool deleted, std::string_view meta,
                   std::optional<Expiry> expiry, std::string_view pending) {
  if (deleted) value = {};
  if (expiry && *expiry == Expiry{0, version}) expiry.reset();  // the default
  void* mem = ::operator new(sizeof(Entry) + key.size() + value.size() +
                             meta.size() + (expiry ? kExpiryBytes : 0) +
                             (pending.empty() ? 0 : 4 + pending.size()));
  auto* e = new (mem) Entry();
  e->version_ = version;
  e->deleted_ = deleted;
  e->key_len_ = static_cast<uint32_t>(key.size());
  e->value_len_ = static_cast<uint32_t>(value.size());
  e->meta_len_ = static_cast<uint32_t>(meta.size());
  copy_into(e->data(), key);
  copy_into(e->data() + key.size(), value);
  copy_into(e->data() + key.size() + value.size(), meta);
  if (expiry) {
    e->has_expiry_ = true;
    char* p = e->data() + key.size() + value.size() + meta.size();
    std::memcpy(p, &expiry->at_ms, 8);
    std::memcpy(p + 8, &expiry->version.hlc, 8);
    std::memcpy(p + 16, &expiry->version.origin, 8);
  }
  if (!pending.empty()) {
    e->has_pending_ = true;
    char* p = e->data() + key.size() + value.size() + meta.size() +
              (expiry ? kExpiryBytes : 0);
    auto n = static_cast<uint32_t>(pending.size());
    std::memcpy(p, &n, 4);
    std::memcpy(p + 4, pending.data(), n);
  }
  return e;
}

void Store::destroy(Entry* e) {
  e->~Entry();
  ::operator delete(e);
}

Store::~Store() {
  for (const Slot& s : by_hash_) destroy(s.entry);
  for (auto& r : retired_) destroy(r.entry);
}

namespace {

// A counter started where its key was absent, below the horizon (see
// QueryActor::counter_at): based on the floor, and stamped with a version
// of its own as its expiry's (no TTL). (A PERSIST of a counter on the
// floor looks the same, and counts the same.)
bool started_absent(bool counter, const Version& v, const Version& floor,
                    const Expiry& x) {
  return counter && v == floor && v < x.version && x.at_ms == 0;
}

bool started_absent(const EntryView& in, const Version& floor) {
  return !in.meta.empty() && !in.deleted && in.expiry &&
         started_absent(true, in.version(), floor, *in.expiry);
}
bool started_absent(const Entry& e, const Version& floor) {
  // (the cheap tests first: this runs on every write)
  return e.counter() && e.has_expiry() && e.version() == floor &&
         started_absent(true, e.version(), floor, e.expiry());
}

// Dead before version c: a tombstone, or a value that had expired by c's
// time, whose versions are below c. The same on every replica (it reads
// no clock), so an increment made where the key was gone beats it in any
// order of arrival.
bool dead_before(bool deleted, const Expiry& x, const Version& c) {
  return x.version < c && (deleted || (x.at_ms != 0 && x.at_ms <= c.wall_ms()));
}

// A counter's state as stored: its canonical encoding and its total, from
// meta bytes that may come from anywhere.
struct CounterState {
  std::string meta;
  std::string text;
};

CounterState counter_state(const Counter& c) {
  return CounterState{c.encoded(), c.text()};
}

}  // namespace

// One write merged into one entry: views into the write, into the copies
// kept here, or into the counter's state. Not copied once filled in.
struct Store::Merged {
  Version version;
  bool deleted = false;
  std::string_view value, meta;
  Expiry expiry;
  bool freed = false;
  uint8_t route = kRouteNone;  // where the result must go besides
  std::string kept_value, kept_meta;
  std::optional<CounterState> state;

  Merged() = default;
  Merged(const Merged&) = delete;
  Merged& operator=(const Merged&) = delete;
};

bool Store::apply(const EntryView& in, uint8_t route) {
  if (!in.pending.empty()) {
    // Two writes of the key: each merges on its own, as had they come
    // apart.
    EntryView first, other;
    if (!split_pending(in, first, other)) return false;
    bool a = apply(first, route);
    bool b = apply(other, route);
    return a || b;
  }
  Version version = in.version();
  std::string_view key = in.key;
  const Version& floor = floor_for(key);
  if (version < floor) return false;  // cleared everywhere
  std::optional<Counter> incoming;
  if (!in.deleted && !in.meta.empty()) {
    incoming = Counter::decode(in.meta);
    if (!incoming) return false;
  }
  size_t hash = hash_of(key);
  auto it = by_hash_.find(Probe{key, hash});
  Entry* old = it == by_hash_.end() ? nullptr : it->entry;
  // Below the horizon this replica held every write (or a newer one of
  // its key) before it collected tombstones: a write there that would
  // replace what it holds, or fill an absent key, is stale (a collected
  // tombstone passed it). Its expiry may still be new: that merges, on a
  // value that is gone. An increment keeps its base's version, older than
  // when it was made, so a counter is stale only when its newest increment
  // (made()) is below the horizon too; one made when is not known (0) is
  // taken, as before that was kept.
  bool below = incoming
                   ? incoming->made() != 0 && incoming->made() < horizon_.hlc &&
                         version < horizon_
                   : version < horizon_;
  bool stale = below && !is_system_key(key) &&
               (old == nullptr || old->version_ < version);
  if (old != nullptr &&
      (old->has_pending_ ||
       (!stale && ((started_absent(in, floor) && floor < old->version_) ||
                   (started_absent(*old, floor) && floor < version))))) {
    return apply_pair(old, it, in, stale, std::move(incoming), route);
  }
  Merged m;
  if (!merge(old, in, stale, std::move(incoming), m)) return false;
  put(old, it, key, hash, m.version, m.deleted, m.value, m.meta, m.expiry,
      m.freed, {}, route | m.route);
  return true;
}

bool Store::merge(const Entry* old, const EntryView& in, bool stale,
                  std::optional<Counter> incoming, Merged& out) const {
  Version version = in.version();
  std::string_view key = in.key;
  bool deleted = in.deleted;
  std::string_view value = deleted ? std::string_view() : in.value;
  std::string_view meta = deleted ? std::string_view() : in.meta;
  // A write clears any expiry older than itself.
  Expiry expiry = in.expiry.value_or(Expiry{0, version});
  if (expiry.version < version) expiry = Expiry{0, version};
  const Expiry sent = expiry;
  uint8_t route = kRouteNone;
  if (stale) {
    if (expiry.version < horizon_) return false;
    if (incoming) {  // only its expiry is news: merged as a plain write's
      incoming.reset();
      meta = {};
      value = {};
    }
    if (old == nullptr && !deleted) {
      deleted = true;
      value = {};
      route |= kRouteLocal | kRouteRemote;  // the sender still shows it
    }
  }
  std::optional<CounterState>& state = out.state;
  // What of the old entry stays (its value part: version, value, meta;
  // or only its expiry), copied, as it may be rewritten in place.
  bool keep_old_part = false;
  if (old != nullptr) {
    Expiry old_expiry = old->expiry();
    // Equal versions come from one write and should agree; if not, the
    // later time, so that any order of arrival ends the same.
    if (expiry.version < old_expiry.version ||
        (expiry.version == old_expiry.version &&
         expiry.at_ms < old_expiry.at_ms)) {
      expiry = old_expiry;
    }
    const Version& floor = floor_for(key);
    if (stale) {
      keep_old_part = true;
    } else if (!(old->version_ < version) &&
               started_absent(incoming.has_value(), version, floor, sent) &&
               dead_before(old->deleted_, old_expiry, sent.version)) {
      // An increment made where the key was gone: it replaces the dead
      // entry (below, as a newer write would), even a counter on the same
      // floor whose expiry passed before it (its parts do not come back).
    } else if (!(version < old->version_) &&
               started_absent(old->counter(), old->version_, floor,
                              old_expiry) &&
               dead_before(deleted, sent, old_expiry.version)) {
      keep_old_part = true;  // and the other way round
    } else if (version == old->version_) {
      if (incoming) {
        // Parts of the counter this version began: merged with what is
        // here (a plain number at this version, an integer or a float, is
        // its base: Counter::over).
        std::optional<Counter> mine;
        if (old->counter()) {
          mine = Counter::decode(old->meta());
        } else if (old->deleted_) {
          mine = Counter(0);
        } else {
          mine = Counter::over(old->value());
        }
        if (mine && mine->same_base(*incoming) && mine->merge(*incoming)) {
          state = counter_state(*mine);
        } else {
          keep_old_part = true;
        }
      } else if (old->counter() || old->deleted_ || !deleted) {
        keep_old_part = true;  // a counter, then a tombstone, beat the rest
      }
    } else if (version < old->version_) {
      keep_old_part = true;
    }
    if (keep_old_part) {
      if (expiry == old_expiry) return false;  // nothing new
      version = old->version_;
      deleted = old->deleted_;
      if (old->reclaimed_ && !old->counter()) {
        // Its value was freed, and another expiry may show it again: it
        // cannot be, so it is a tombstone of its version (which beats the
        // value wherever it is still held). A counter kept its parts.
        // No replica holds this state yet: it goes everywhere.
        deleted = true;
        route |= kRouteLocal | kRouteRemote;
      }
      out.kept_value.assign(old->value());
      out.kept_meta.assign(old->meta());
      value = out.kept_value;
      meta = out.kept_meta;
    }
    // What of ours still waited to travel goes where the old record was to
    // go: the result may hold something the sender lacks (parts, an
    // expiry, a value), and even a newer write as sent must reach where
    // the write it replaced was going, or a receiver told that our writes
    // below a bound all came (stream claims, query_actor.cc) lacks both.
    route |= pending_route(old);
  }
  // A value freed where it comes from stays freed here; if the merged
  // expiry would show it again, it cannot be: a tombstone of its version,
  // as where the PERSIST reaches a freed value held here (above).
  bool freed = false;
  if (in.reclaimed && !incoming && !keep_old_part && !deleted) {
    if (expiry == sent) {
      freed = true;
      value = {};
    } else {
      deleted = true;
      value = {};
      route |= kRouteLocal | kRouteRemote;
    }
  }
  if (incoming && !state && !keep_old_part) state = counter_state(*incoming);
  if (state) {
    value = state->text;
    meta = state->meta;
  }
  out.version = version;
  out.deleted = deleted;
  out.value = value;
  out.meta = meta;
  out.expiry = expiry;
  out.freed = freed;
  out.route = route;
  return true;
}

namespace {

// One write of a key, owned (Store::apply_pair works on copies).
struct Write {
  Version version;
  bool deleted = false;
  std::string value, meta;
  Expiry expiry;
  bool freed = false;  // a plain value's, freed once expired

  static Write of(const Entry& e) {
    return {e.version(),           e.deleted(), std::string(e.value()),
            std::string(e.meta()), e.expiry(),  e.reclaimed() && !e.counter()};
  }
  EntryView view(std::string_view key) const {
    return {key,
            value,
            version.hlc,
            version.origin,
            deleted,
            meta,
            expiry == Expiry{0, version} ? std::nullopt
                                         : std::optional<Expiry>(expiry),
            freed,
            {}};
  }
};

}  // namespace

// Why two writes. A counter begun where the key was gone (started_absent:
// on the floor, stamped) beats a newer write that was dead by the stamp
// (dead_before), and loses to one that was not, which then takes the
// stamp as its expiry (the newer expiry, as for any two writes). Whether it
// was dead may change as expiries older than the stamp arrive: deciding at
// arrival let the order decide (cmud-sim --durable everysec seed 36: where
// the EXPIRE came first the counter replaced the value; where the counter
// came first the value took the stamp as expiry, and the EXPIRE, older,
// no longer applied). So both are held, the one that does not show as the
// entry's pending write (with, when the newer write shows, its own expiry
// beside), and the choice is made again as either changes, until it cannot
// change any more: the newer write's own expiry is newer than the stamp,
// or the horizon passed the stamp (every replica then holds every write
// below it).
bool Store::apply_pair(Entry* old, HashIndex::iterator it, const EntryView& in,
                       bool stale, std::optional<Counter> incoming,
                       uint8_t route) {
  std::string_view key = in.key;
  const Version& floor = floor_for(key);
  auto destroy_entry = [](Entry* e) { Store::destroy(e); };
  using Temp = std::unique_ptr<Entry, decltype(destroy_entry)>;
  auto temp = [&](const EntryView& w) {
    Temp t(make(key, w.value, w.version(), w.deleted, w.meta, w.expiry),
           destroy_entry);
    t->reclaimed_ = w.reclaimed;
    return t;
  };
  // The two writes as held now, each with its own expiry.
  Temp held(nullptr, destroy_entry), shown_own(nullptr, destroy_entry);
  const Entry* shown_now = old;
  if (old->has_pending_) {
    EntryView v, p;
    if (!split_pending(old->view(), v, p)) return false;  // never
    held = temp(p);
    shown_own = temp(v);
    shown_now = shown_own.get();
  }
  const Entry* on_floor = nullptr;
  const Entry* newer = nullptr;
  // A clear took what is below the floor: all of it if what shows is
  // (purge() frees it so), else a held write below it.
  if (!below_floor(old)) {
    for (const Entry* e : {shown_now, static_cast<const Entry*>(held.get())}) {
      if (e == nullptr || e->version_ < floor) continue;
      (e->version_ == floor ? on_floor : newer) = e;
    }
  }
  // A stale write only brings an expiry, to what shows (as merge() does).
  bool to_floor = stale ? old->version_ == floor : in.version() == floor;
  const Entry* target = to_floor ? on_floor : newer;
  Merged m;
  bool merged = merge(target, in, stale, std::move(incoming), m);
  auto as_write = [](const Merged& r) {
    return Write{r.version,           r.deleted, std::string(r.value),
                 std::string(r.meta), r.expiry,  r.freed};
  };
  std::optional<Write> a, b;  // on the floor, newer
  if (on_floor != nullptr) a = Write::of(*on_floor);
  if (newer != nullptr) b = Write::of(*newer);
  if (merged) (to_floor ? a : b) = as_write(m);
  // Which shows, and what is held.
  uint8_t extra = kRouteNone;
  std::optional<Write> shown, kept;
  std::optional<Expiry> own;
  if (!a || !b) {
    shown = a ? a : b;
  } else if (!started_absent(a->view(key), floor)) {
    // No longer stamped (an EXPIRE of the counter): the newer write beats
    // it as ever, and takes its expiry if that is newer.
    Temp t = temp(b->view(key));
    Merged c;
    shown = merge(t.get(), a->view(key), false, Counter::decode(a->meta), c)
                ? as_write(c)
                : b;
    extra |= c.route;
  } else {
    const Version& stamp = a->expiry.version;
    bool open = !(stamp < horizon_);
    bool later = stamp < b->expiry.version;  // b's own expiry is newer
    if (!later && b->freed) {
      // A freed value the stamp's expiry would show again: it cannot be, so
      // it is a tombstone of its version (as merge() makes it), which goes
      // everywhere.
      b->deleted = true;
      b->freed = false;
      b->value.clear();
      extra |= kRouteLocal | kRouteRemote;
    }
    if (dead_before(b->deleted, b->expiry, stamp)) {
      shown = a;
      if (open) kept = b;
    } else {
      shown = b;
      if (!later) {
        if (open) {
          kept = a;
          own = b->expiry;
        }
        shown->expiry = a->expiry;
      }
    }
  }
  std::string pending;
  if (kept) append_pending(pending, kept->view(key), own);
  EntryView now = shown->view(key);
  now.pending = pending;
  std::string before, after;
  append_write(before, old->view());
  append_write(after, now);
  if (before == after) return false;
  put(old, it, key, it->hash, shown->version, shown->deleted, shown->value,
      shown->meta, shown->expiry, shown->freed, pending,
      route | extra | m.route | pending_route(old));
  return true;
}

void Store::put(Entry* old, HashIndex::iterator it, std::string_view key,
                size_t hash, const Version& version, bool deleted,
                std::string_view value, std::string_view meta,
                const Expiry& expiry, bool freed, std::string_view pending,
                uint8_t route) {
  std::optional<Expiry> trailer;
  if (!(expiry == Expiry{0, version})) trailer = expiry;
  uint64_t stable = stable_hash(key);
  uint64_t& leaf = leaves_[stable >> (64 - kLeafBits)];
  Entry* e;
  if (old != nullptr) {
    if (counted(old)) {
      leaf ^= digest_of(stable, old);
      if (!old->deleted_ && !old->reclaimed_) --live_;
    }
    unindex(old);
    if (old->has_pending_) --pending_;
    if (old->value_len_ == value.size() && old->meta_len_ == meta.size() &&
        old->has_expiry_ == trailer.has_value() && !old->has_pending_ &&
        pending.empty()) {
      e = old;  // same size: rewrite in place
      e->version_ = version;
      e->deleted_ = deleted;
      copy_into(e->data() + e->key_len_, value);
      copy_into(e->data() + e->key_len_ + e->value_len_, meta);
      if (trailer) {
        char* p = e->data() + e->key_len_ + e->value_len_ + e->meta_len_;
        std::memcpy(p, &trailer->at_ms, 8);
        std::memcpy(p + 8, &trailer->version.hlc, 8);
        std::memcpy(p + 16, &trailer->version.origin, 8);
      }
    } else {
      e = make(key, value, version, deleted, meta, trailer, pending);
      // Same key, same hash: the slot may point at the new entry in place
      // (the set's elements are const only to guard their hash and key).
      const_cast<Slot&>(*it).entry = e;
      by_key_.erase(old);
      by_key_.insert(e);
      retire(old);
    }
  } else {
    e = make(key, value, version, deleted, meta, trailer, pending);
    by_hash_.insert(Slot{e, hash});
    by_key_.insert(e);
  }
  // Rewritten: not freed (reclaim() frees it again if it is expired),
  // unless it came freed.
  e->reclaimed_ = freed;
  index(e);
  if (e->has_pending_) ++pending_;
  leaf ^= digest_of(stable, e);
  if (!deleted && !freed) ++live_;
  if (max_version_ < version) max_version_ = version;
  if (route == kRouteNone) {
    e->seq_ = 0;
  } else {
    e->seq_ = next_seq_++;
    log_.push_back({e->seq_, e, route});
  }
}

void Store::index(Entry* e) {
  if (e->has_expiry_ && !e->reclaimed_ && !e->deleted_ &&
      e->expiry().at_ms != 0) {
    by_expiry_.insert({e->expiry().at_ms, e});
  }
  if ((e->deleted_ || e->reclaimed_) && !is_system_key(e->key())) {
    by_death_.insert({top(*e), e});
  }
}

void Store::unindex(Entry* e) {
  if (e->has_expiry_) by_expiry_.erase({e->expiry().at_ms, e});
  if (e->deleted_ || e->reclaimed_) by_death_.erase({top(*e), e});
}

size_t Store::reclaim(size_t max_visit,
                      const std::function<void(std::string_view)>& on_freed) {
  size_t freed = 0;
  for (size_t n = 0; n < max_visit && !by_expiry_.empty() &&
                     by_expiry_.begin()->first <= now_ms_;
       ++n) {
    Entry* e = by_expiry_.begin()->second;
    by_expiry_.erase(by_expiry_.begin());
    if (below_floor(e)) continue;  // purge() frees it
    if (counted(e)) --live_;
    ++freed;
    if (on_freed && !is_system_key(e->key())) on_freed(e->key());
    if (e->counter() || e->value_len_ == 0) {
      e->reclaimed_ = true;  // a counter keeps its parts: they still merge
      index(e);
      continue;
    }
    // The same entry without its value: its digest is the same, and a
    // change record that names it names the new one.
    Entry* r =
        make(e->key(), {}, e->version_, false, {}, e->expiry(), e->pending());
    r->reclaimed_ = true;
    r->seq_ = e->seq_;
    if (e->seq_ != 0 && !log_.empty() && e->seq_ >= log_.front().seq) {
      Record& rec = log_[e->seq_ - log_.front().seq];
      if (rec.seq == e->seq_) rec.entry = r;
    }
    auto it = by_hash_.find(Probe{e->key(), hash_of(e->key())});
    const_cast<Slot&>(*it).entry = r;
    by_key_.erase(e);
    by_key_.insert(r);
    index(r);
    e->seq_ = 0;
    retire(e);
  }
  return freed;
}

void Store::copy_from(const Store& other) {
  by_hash_.reserve(other.by_key_.size());
  for (const Entry* src : other.by_key_) {
    Entry* e = make(
        src->key(), src->value(), src->version_, src->deleted_, src->meta(),
        src->has_expiry_ ? std::optional<Expiry>(src->expiry()) : std::nullopt,
        src->pending());
    e->reclaimed_ = src->reclaimed_;
    index(e);
    if (e->has_pending_) ++pending_;
    by_hash_.insert(Slot{e, hash_of(e->key())});
    by_key_.insert(by_key_.end(), e);  // in key order: appended
  }
  std::copy(other.leaves_.get(), other.leaves_.get() + kLeaves, leaves_.get());
  live_ = other.live_;
  floor_ = other.floor_;
  cleared_ = other.cleared_;
  max_version_ = other.max_version_;
  now_ms_ = other.now_ms_;
  purging_ = other.purging_;  // a whole pass of its own, if any
}

void Store::swap(Store& other) noexcept {
  using std::swap;
  swap(leaves_, other.leaves_);
  swap(by_hash_, other.by_hash_);
  swap(by_key_, other.by_key_);
  swap(log_, other.log_);
  swap(retired_, other.retired_);
  swap(retired_bytes_, other.retired_bytes_);
  swap(next_seq_, other.next_seq_);
  swap(floor_, other.floor_);
  swap(cleared_, other.cleared_);
  swap(max_version_, other.max_version_);
  swap(purge_from_, other.purge_from_);
  swap(purging_, other.purging_);
  swap(horizon_, other.horizon_);
  swap(collected_, other.collected_);
  swap(by_death_, other.by_death_);
  swap(live_, other.live_);
  swap(pending_, other.pending_);
  swap(now_ms_, other.now_ms_);
  swap(by_expiry_, other.by_expiry_);
}

bool Store::raise_floor(const Version& v) {
  if (!(floor_ < v)) return false;
  floor_ = v;
  if (max_version_ < v) {
    // Every entry here is below it (a FLUSHALL made here always is): none
    // counts any more, at once; purge() only frees them.
    cleared_ = v;
    live_ = 0;
    std::fill(leaves_.get(), leaves_.get() + kLeaves, 0);
    // but the system key space, which the floor does not clear
    for (auto it = by_key_.lower_bound(kSystemPrefix);
         it != by_key_.end() && is_system_key((*it)->key()); ++it) {
      uint64_t stable = stable_hash((*it)->key());
      leaves_[stable >> (64 - kLeafBits)] ^= digest_of(stable, *it);
      if (!(*it)->deleted_ && !(*it)->reclaimed_) ++live_;
    }
  }
  purging_ = !by_key_.empty();
  purge_from_.reset();  // a whole pass: entries passed over may be below now
  return true;
}

bool Store::purge(size_t max_visit) {
  if (!purging_) return false;
  auto it = purge_from_ ? by_key_.lower_bound(*purge_from_) : by_key_.begin();
  for (size_t n = 0; it != by_key_.end() && n < max_visit; ++n) {
    if (below_floor(*it)) {
      it = erase(it);
      continue;
    }
    Entry* e = *it;
    EntryView p;
    std::optional<Expiry> own;
    if (e->has_pending_ && read_pending(e->key(), e->pending(), p, &own) &&
        p.version() < floor_) {
      // Its held write is cleared: the entry without it (and without its
      // expiry, if it carried it), as every replica makes it once its floor
      // is this high (so it is not logged).
      Write w = Write::of(*e);
      if (own) w.expiry = *own;
      std::string key(e->key());
      size_t hash = hash_of(key);
      put(e, by_hash_.find(Probe{key, hash}), key, hash, w.version, w.deleted,
          w.value, w.meta, w.expiry, w.freed, {}, kRouteNone);
      it = by_key_.find(key);
    }
    ++it;
  }
  if (it == by_key_.end()) {
    purging_ = false;
    purge_from_.reset();
  } else {
    purge_from_ = std::string((*it)->key());
  }
  return purging_;
}

absl::btree_set<Entry*, Store::Less>::iterator Store::erase(
    absl::btree_set<Entry*, Less>::iterator it) {
  Entry* e = *it;
  if (counted(e)) {
    uint64_t stable = stable_hash(e->key());
    leaves_[stable >> (64 - kLeafBits)] ^= digest_of(stable, e);
    if (!e->deleted_ && !e->reclaimed_) --live_;
  }
  unindex(e);
  if (e->has_pending_) --pending_;
  by_hash_.erase(by_hash_.find(Probe{e->key(), hash_of(e->key())}));
  it = by_key_.erase(it);
  retire(e);
  return it;
}

bool Store::collect(const Version& horizon, size_t max_visit,
                    const Visit* freed) {
  if (horizon_ < horizon) horizon_ = horizon;
  auto waiting = [&] {
    return !by_death_.empty() && by_death_.begin()->first < horizon_;
  };
  for (size_t n = 0; n < max_visit && waiting(); ++n) {
    const Entry* e = by_death_.begin()->second;
    if (freed != nullptr) (void)(*freed)(*e);
    (void)erase(by_key_.find(e->key()));
    ++collected_;
  }
  bool more = waiting();
  // A mass delete freed: the hash index gives its room back too (once,
  // O(entries left)).
  if (!more && by_hash_.capacity() > 4 * by_hash_.size() + 1024) {
    by_hash_.rehash(0);
  }
  return more;
}

uint8_t Store::pending_route(const Entry* e) const {
  if (e->seq_ == 0 || log_.empty() || e->seq_ < log_.front().seq) {
    return kRouteNone;
  }
  const Record& r = log_[e->seq_ - log_.front().seq];
  return r.seq == e->seq_ ? r.route : static_cast<uint8_t>(kRouteNone);
}

bool Store::touch(std::string_view key, uint8_t route) {
  auto it = by_hash_.find(Probe{key, hash_of(key)});
  if (it == by_hash_.end() || route == kRouteNone) return false;
  Entry* e = it->entry;
  if (below_floor(e)) return false;
  route |= pending_route(e);
  e->seq_ = next_seq_++;
  log_.push_back({e->seq_, e, route});
  return true;
}

bool Store::drop_stale(std::string_view key, const Version& version) {
  auto it = by_key_.find(key);
  if (it == by_key_.end() || (*it)->version_ != version || is_system_key(key)) {
    return false;
  }
  (void)erase(it);
  return true;
}

void Store::retire(Entry* e) {
  e->seq_ = 0;  // no record is current for it any more
  if (log_.empty()) {
    destroy(e);  // only records name entries
  } else {
    retired_.push_back({next_seq_ - 1, e});
    retired_bytes_ += footprint(e);
  }
}

std::optional<std::string_view> Store::get(std::string_view key) const {
  const Entry* e = find(key);
  if (e == nullptr || !live(*e)) return std::nullopt;
  return e->value();
}

const Entry* Store::find(std::string_view key) const {
  auto it = by_hash_.find(Probe{key, hash_of(key)});
  if (it == by_hash_.end() || below_floor(it->entry)) return nullptr;
  return it->entry;
}

void Store::prefetch_entry(std::string_view key, size_t hash) const {
  if (key.empty()) return;
  // Found by hash alone, so the entry is not read (that read would stall
  // here); its first two lines hold the header, key and a small value.
  auto it = by_hash_.find(Probe{key, hash, false});
  if (it == by_hash_.end()) return;
  const char* p = reinterpret_cast<const char*>(it->entry);
  __builtin_prefetch(p);
  __builtin_prefetch(p + 64);
  __builtin_prefetch(p + 127);
}

void Store::for_each_prefix(std::string_view prefix, const Visit& f) const {
  for (auto it = by_key_.lower_bound(prefix);
       it != by_key_.end() && (*it)->key().starts_with(prefix); ++it) {
    if (!live(**it) || below_floor(*it)) continue;
    if (!f(**it)) return;
  }
}

std::optional<std::string> Store::walk(std::string_view from, bool after,
                                       const Visit& f) const {
  auto it = after ? by_key_.upper_bound(from) : by_key_.lower_bound(from);
  const Entry* last = nullptr;
  for (; it != by_key_.end(); ++it) {
    if (below_floor(*it)) continue;
    if (!f(**it)) {
      if (last != nullptr) return std::string(last->key());
      return std::string(from);  // broke the REQUIRES; resume where we began
    }
    last = *it;
  }
  return std::nullopt;
}

namespace {

// The 8 bytes of `key` from `at` on, big-endian, zeros past its end.
uint64_t key_bits(std::string_view key, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) {
    size_t j = at + i;
    v = (v << 8) | (j < key.size() ? static_cast<uint8_t>(key[j]) : 0u);
  }
  return v;
}

}  // namespace

size_t Store::client_live_size() const {
  size_t system = 0;
  for_each_prefix(kSystemPrefix, [&](const Entry&) {
    ++system;
    return true;
  });
  return live_ - system;
}

const Entry* Store::random_live(const std::function<uint64_t()>& random) const {
  if (live_ == 0 || by_key_.empty()) return nullptr;
  auto system = by_key_.lower_bound(kSystemPrefix);
  std::string_view first = (*by_key_.begin())->key();
  // Draws fall short of the system key space (a wrap may still pass it).
  std::string_view last = system == by_key_.begin()
                              ? (*by_key_.rbegin())->key()
                              : (*std::prev(system))->key();
  auto pick = [this](const Entry* e) {
    return !below_floor(e) && live(*e) && !is_system_key(e->key());
  };
  size_t common = 0;
  while (common < first.size() && common < last.size() &&
         first[common] == last[common]) {
    ++common;
  }
  const uint64_t lo = key_bits(first, common), hi = key_bits(last, common);
  std::string point(first.substr(0, common));
  point.resize(common + 8);
  constexpr int kDraws = 64;
  constexpr int kSteps = 256;       // entries one draw looks at
  constexpr uint64_t kSpread = 64;  // entries one draw may skip
  for (int draw = 0; draw < kDraws; ++draw) {
    uint64_t span = hi - lo;
    uint64_t v = lo + (span == UINT64_MAX ? random() : random() % (span + 1));
    for (int i = 0; i < 8; ++i) {
      point[common + i] = static_cast<char>(v >> (56 - 8 * i));
    }
    auto it = by_key_.lower_bound(std::string_view(point));
    // Then a random number of entries further on (wrapping around): the
    // share of a key that follows a wide gap is spread over the keys after
    // it, as the draws of byte strings leave such gaps between any keys
    // written in a smaller alphabet (digits, letters).
    for (uint64_t skip = random() % kSpread; skip > 0; --skip) {
      if (it == by_key_.end()) it = by_key_.begin();
      ++it;
    }
    for (int step = 0; step < kSteps; ++step, ++it) {
      if (it == by_key_.end()) it = by_key_.begin();  // wrap around
      if (pick(*it)) return *it;
    }
  }
  for (const Entry* e : by_key_) {
    if (pick(e)) return e;
  }
  return nullptr;
}

uint64_t Store::changes_since(uint64_t cursor, uint8_t mask,
                              const Visit& f) const {
  if (log_.empty()) return cursor;
  uint64_t first = log_.front().seq;
  size_t i = cursor < first ? 0 : static_cast<size_t>(cursor - first + 1);
  constexpr size_t kAhead = 8;  // entries read a few records early
  for (; i < log_.size(); ++i) {
    if (i + kAhead < log_.size()) {
      const char* e = reinterpret_cast<const char*>(log_[i + kAhead].entry);
      __builtin_prefetch(e);
      __builtin_prefetch(e + 64);  // most of a small entry's key and value
    }
    const Record& r = log_[i];
    if ((r.route & mask) != 0 && r.entry->seq() == r.seq &&
        !below_floor(r.entry) && !f(*r.entry)) {
      break;
    }
    cursor = r.seq;
  }
  return cursor;
}

void Store::trim(uint64_t cursor) {
  while (!log_.empty() && log_.front().seq <= cursor) log_.pop_front();
  uint64_t oldest = log_.empty() ? next_seq_ : log_.front().seq;
  while (!retired_.empty() && retired_.front().last < oldest) {
    retired_bytes_ -= footprint(retired_.front().entry);
    destroy(retired_.front().entry);
    retired_.pop_front();
  }
}

}  // namespace cmud::kv
