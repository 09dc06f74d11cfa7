// The one encoding of a store entry, shared by sync batches, repair, the
// write-ahead log and snapshots: bytes key, bytes value, u64 hlc, u64
// origin, u8 flags (1: deleted; 2: a counter, whose bytes meta follow;
// 4: an expiry, u64 at_ms, u64 hlc, u64 origin, follows; 8: a value freed
// once expired, EntryView::reclaimed, only with 4) (codec.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cmud/common/codec.h"
#include "cmud/kv/store.h"

namespace cmud::kv {

inline constexpr uint8_t kEntryDeleted = 1;
inline constexpr uint8_t kEntryCounter = 2;
inline constexpr uint8_t kEntryExpiry = 4;
inline constexpr uint8_t kEntryReclaimed = 8;

inline void append_entry(std::string& out, const EntryView& e) {
  codec::Writer w(out);
  w.bytes(e.key);
  w.bytes(e.value);
  w.fixed(e.hlc);
  w.fixed(e.origin);
  bool counter = !e.meta.empty() && !e.deleted;
  bool freed = e.reclaimed && !e.deleted && !counter && e.expiry;
  w.fixed<uint8_t>(
      (e.deleted ? kEntryDeleted : 0) | (counter ? kEntryCounter : 0) |
      (e.expiry ? kEntryExpiry : 0) | (freed ? kEntryReclaimed : 0));
  if (counter) w.bytes(e.meta);
  if (e.expiry) {
    w.fixed(e.expiry->at_ms);
    w.fixed(e.expiry->version.hlc);
    w.fixed(e.expiry->version.origin);
  }
}

inline void append_entry(std::string& out, std::string_view key,
                         std::string_view value, uint64_t hlc, uint64_t origin,
                         bool deleted) {
  append_entry(out, EntryView{key, value, hlc, origin, deleted, {}, {}});
}

inline void append_entry(std::string& out, const Entry& e) {
  append_entry(out, e.view());
}

// Reads the next entry; false (and r fails) on malformed bytes.
inline bool read_entry(codec::Reader& r, EntryView& e) {
  uint8_t flags = 0;
  if (!r.view(e.key) || !r.view(e.value) || !r.fixed(e.hlc) ||
      !r.fixed(e.origin) || !r.fixed(flags) ||
      (flags & ~(kEntryDeleted | kEntryCounter | kEntryExpiry |
                 kEntryReclaimed)) != 0 ||
      ((flags & kEntryDeleted) != 0 && (flags & kEntryCounter) != 0) ||
      ((flags & kEntryReclaimed) != 0 &&
       (flags & (kEntryDeleted | kEntryCounter | kEntryExpiry)) !=
           kEntryExpiry)) {
    return r.fail();
  }
  e.deleted = (flags & kEntryDeleted) != 0;
  e.reclaimed = (flags & kEntryReclaimed) != 0;
  e.meta = {};
  e.expiry.reset();
  if ((flags & kEntryCounter) != 0 && (!r.view(e.meta) || e.meta.empty())) {
    return r.fail();
  }
  if ((flags & kEntryExpiry) != 0) {
    Expiry x;
    if (!r.fixed(x.at_ms) || !r.fixed(x.version.hlc) ||
        !r.fixed(x.version.origin)) {
      return r.fail();
    }
    e.expiry = x;
  }
  return true;
}

}  // namespace cmud::kv
