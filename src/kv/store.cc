#include "cmud/kv/store.h"

#include <absl/hash/hash.h>

#include "cmud/common/ascii.h"
#include "cmud/common/hash.h"
#include "cmud/kv/counter.h"

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
                             uint64_t meta_hash) {
  return mix(key_hash ^ mix(v.hlc + 0x9e3779b97f4a7c15ull) ^
             mix(v.origin ^ 0x6a09e667f3bcc909ull) ^ (deleted ? 0xdull : 0) ^
             meta_hash);
}

uint64_t Store::meta_hash(std::string_view meta) {
  if (meta.empty()) return 0;
  uint64_t h = mix(fnv1a_64(meta) ^ 0xbb67ae8584caa73bull);
  return h == 0 ? 1 : h;  // 0 means "no counter"
}

namespace {
// memcpy of an empty view may pass a null pointer, which is undefined.
void copy_into(char* dst, std::string_view src) {
  if (!src.empty()) std::memcpy(dst, src.data(), src.size());
}
}  // namespace

Entry* Store::make(std::string_view key, std::string_view value,
                   Version version, bool deleted, std::string_view meta) {
  if (deleted) value = {};
  void* mem =
      ::operator new(sizeof(Entry) + key.size() + value.size() + meta.size());
  auto* e = new (mem) Entry();
  e->version_ = version;
  e->deleted_ = deleted;
  e->key_len_ = static_cast<uint32_t>(key.size());
  e->value_len_ = static_cast<uint32_t>(value.size());
  e->meta_len_ = static_cast<uint32_t>(meta.size());
  copy_into(e->data(), key);
  copy_into(e->data() + key.size(), value);
  copy_into(e->data() + key.size() + value.size(), meta);
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

bool Store::apply(std::string_view key, std::string_view value, Version version,
                  bool deleted, uint8_t route, std::string_view meta) {
  if (version < floor_) return false;  // cleared everywhere
  std::optional<Counter> incoming;
  if (deleted) {
    value = {};
    meta = {};
  } else if (!meta.empty()) {
    incoming = Counter::decode(meta);
    if (!incoming) return false;
  }
  Entry* e;
  size_t hash = hash_of(key);
  auto it = by_hash_.find(Probe{key, hash});
  uint64_t stable = stable_hash(key);
  uint64_t& leaf = leaves_[stable >> (64 - kLeafBits)];
  std::optional<CounterState> state;
  if (it != by_hash_.end()) {
    Entry* old = it->entry;
    if (version == old->version_ && incoming) {
      // Parts of the counter this version began: merged with what is here.
      std::optional<Counter> mine;
      if (old->counter()) {
        mine = Counter::decode(old->meta());
      } else if (old->deleted_) {
        mine = Counter(0);
      } else if (auto n = strict_int(old->value())) {
        mine = Counter(*n);
      }
      if (!mine || mine->base() != incoming->base() ||
          !mine->merge(*incoming)) {
        return false;
      }
      state = counter_state(*mine);
      // Unlike a newer version, the merge may hold parts the sender lacks,
      // and parts of ours still waiting to travel: the record keeps going
      // where the old one was to go.
      if (old->seq_ != 0 && !log_.empty() && old->seq_ >= log_.front().seq) {
        const Record& r = log_[old->seq_ - log_.front().seq];
        if (r.seq == old->seq_) route |= r.route;
      }
    } else if (!(version > old->version_)) {
      return false;
    }
  }
  if (incoming && !state) state = counter_state(*incoming);
  if (state) {
    value = state->text;
    meta = state->meta;
  }
  if (it != by_hash_.end()) {
    Entry* old = it->entry;
    if (counted(old)) {
      leaf ^= digest_of(stable, old);
      if (!old->deleted_) --live_;
    }
    if (old->value_len_ == value.size() && old->meta_len_ == meta.size()) {
      e = old;  // same size: rewrite in place
      e->version_ = version;
      e->deleted_ = deleted;
      copy_into(e->data() + e->key_len_, value);
      copy_into(e->data() + e->key_len_ + e->value_len_, meta);
    } else {
      e = make(key, value, version, deleted, meta);
      // Same key, same hash: the slot may point at the new entry in place
      // (the set's elements are const only to guard their hash and key).
      const_cast<Slot&>(*it).entry = e;
      by_key_.erase(old);
      by_key_.insert(e);
      retire(old);
    }
  } else {
    e = make(key, value, version, deleted, meta);
    by_hash_.insert(Slot{e, hash});
    by_key_.insert(e);
  }
  leaf ^= digest_of(stable, e);
  if (!deleted) ++live_;
  if (max_version_ < version) max_version_ = version;
  if (route == kRouteNone) {
    e->seq_ = 0;
  } else {
    e->seq_ = next_seq_++;
    log_.push_back({e->seq_, e, route});
  }
  return true;
}

void Store::copy_from(const Store& other) {
  by_hash_.reserve(other.by_key_.size());
  for (const Entry* src : other.by_key_) {
    Entry* e = make(src->key(), src->value(), src->version_, src->deleted_,
                    src->meta());
    by_hash_.insert(Slot{e, hash_of(e->key())});
    by_key_.insert(by_key_.end(), e);  // in key order: appended
  }
  std::copy(other.leaves_.get(), other.leaves_.get() + kLeaves, leaves_.get());
  live_ = other.live_;
  floor_ = other.floor_;
  cleared_ = other.cleared_;
  max_version_ = other.max_version_;
  purging_ = other.purging_;  // a whole pass of its own, if any
}

void Store::swap(Store& other) noexcept {
  using std::swap;
  swap(leaves_, other.leaves_);
  swap(by_hash_, other.by_hash_);
  swap(by_key_, other.by_key_);
  swap(log_, other.log_);
  swap(retired_, other.retired_);
  swap(next_seq_, other.next_seq_);
  swap(floor_, other.floor_);
  swap(cleared_, other.cleared_);
  swap(max_version_, other.max_version_);
  swap(purge_from_, other.purge_from_);
  swap(purging_, other.purging_);
  swap(live_, other.live_);
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
  }
  purging_ = !by_key_.empty();
  purge_from_.reset();  // a whole pass: entries passed over may be below now
  return true;
}

bool Store::purge(size_t max_visit) {
  if (!purging_) return false;
  auto it = purge_from_ ? by_key_.lower_bound(*purge_from_) : by_key_.begin();
  for (size_t n = 0; it != by_key_.end() && n < max_visit; ++n) {
    Entry* e = *it;
    if (!below_floor(e)) {
      ++it;
      continue;
    }
    if (counted(e)) {
      uint64_t stable = stable_hash(e->key());
      leaves_[stable >> (64 - kLeafBits)] ^= digest_of(stable, e);
      if (!e->deleted_) --live_;
    }
    by_hash_.erase(by_hash_.find(Probe{e->key(), hash_of(e->key())}));
    it = by_key_.erase(it);
    retire(e);
  }
  if (it == by_key_.end()) {
    purging_ = false;
    purge_from_.reset();
  } else {
    purge_from_ = std::string((*it)->key());
  }
  return purging_;
}

void Store::retire(Entry* e) {
  e->seq_ = 0;  // no record is current for it any more
  if (log_.empty()) {
    destroy(e);  // only records name entries
  } else {
    retired_.push_back({next_seq_ - 1, e});
  }
}

std::optional<std::string_view> Store::get(std::string_view key) const {
  const Entry* e = find(key);
  if (e == nullptr || e->deleted()) return std::nullopt;
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
    if ((*it)->deleted() || below_floor(*it)) continue;
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
    destroy(retired_.front().entry);
    retired_.pop_front();
  }
}

}  // namespace cmud::kv
