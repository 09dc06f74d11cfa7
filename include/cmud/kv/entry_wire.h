// The one encoding of a store entry, shared by sync batches, repair, the
// write-ahead log and snapshots: bytes key, then its write: bytes value, u64
// hlc, u64 origin, u8 flags (1: deleted; 2: a counter, whose bytes meta
// follow; 4: an expiry, u64 at_ms, u64 hlc, u64 origin, follows; 8: a value
// freed once expired, EntryView::reclaimed, only with 4; 16: a pending
// write follows, bytes holding a write encoded so (without 16) and maybe
// the shown write's own expiry, read_pending) (codec.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cmud/common/codec.h"
#include "cmud/kv/store.h"

namespace cmud::kv {

inline constexpr uint8_t kEntryDeleted = 1;
inline constexpr uint8_t kEntryCounter = 2;
inline constexpr uint8_t kEntryExpiry = 4;
inline constexpr uint8_t kEntryReclaimed = 8;
inline constexpr uint8_t kEntryPending = 16;

// An entry's write: all of it but the key.
inline void append_write(std::string& out, const EntryView& e) {
  codec::Writer w(out);
  w.bytes(e.value);
  w.fixed(e.hlc);
  w.fixed(e.origin);
  bool counter = !e.meta.empty() && !e.deleted;
  bool freed = e.reclaimed && !e.deleted && !counter && e.expiry;
  w.fixed<uint8_t>(
      (e.deleted ? kEntryDeleted : 0) | (counter ? kEntryCounter : 0) |
      (e.expiry ? kEntryExpiry : 0) | (freed ? kEntryReclaimed : 0) |
      (e.pending.empty() ? 0 : kEntryPending));
  if (counter) w.bytes(e.meta);
  if (e.expiry) {
    w.fixed(e.expiry->at_ms);
    w.fixed(e.expiry->version.hlc);
    w.fixed(e.expiry->version.origin);
  }
  if (!e.pending.empty()) w.bytes(e.pending);
}

inline void append_entry(std::string& out, const EntryView& e) {
  codec::Writer(out).bytes(e.key);
  append_write(out, e);
}

inline void append_entry(std::string& out, std::string_view key,
                         std::string_view value, uint64_t hlc, uint64_t origin,
                         bool deleted) {
  append_entry(out, EntryView{key, value, hlc, origin, deleted, {}, {}});
}

inline void append_entry(std::string& out, const Entry& e) {
  append_entry(out, e.view());
}

inline bool read_pending(std::string_view key, std::string_view bytes,
                         EntryView& out, std::optional<Expiry>* own = nullptr);

// Reads an entry's write into e (all but e.key); with `nested` (a pending
// write's own bytes) it may hold no pending write. False (and r fails) on
// malformed bytes.
inline bool read_write(codec::Reader& r, EntryView& e, bool nested = false) {
  uint8_t flags = 0;
  constexpr uint8_t kKnown = kEntryDeleted | kEntryCounter | kEntryExpiry |
                             kEntryReclaimed | kEntryPending;
  if (!r.view(e.value) || !r.fixed(e.hlc) || !r.fixed(e.origin) ||
      !r.fixed(flags) || (flags & ~kKnown) != 0 ||
      (nested && (flags & kEntryPending) != 0) ||
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
  e.pending = {};
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
  if ((flags & kEntryPending) != 0) {
    // Checked here, so that what holds one holds a well-formed one.
    EntryView inner;
    if (!r.view(e.pending) || !read_pending(e.key, e.pending, inner)) {
      return r.fail();
    }
  }
  return true;
}

// The pending write `bytes` (EntryView::pending) of `key` as an entry of
// its own. When the shown write carries the pending one's expiry
// (Store::apply), its own follows (u64 at_ms, u64 hlc, u64 origin): `own`.
// False on malformed bytes.
inline bool read_pending(std::string_view key, std::string_view bytes,
                         EntryView& out, std::optional<Expiry>* own) {
  codec::Reader r(bytes);
  out = EntryView{};
  out.key = key;
  if (!read_write(r, out, /*nested=*/true)) return false;
  std::optional<Expiry> x;
  if (r.remaining() != 0) {
    x.emplace();
    if (!r.fixed(x->at_ms) || !r.fixed(x->version.hlc) ||
        !r.fixed(x->version.origin) || r.remaining() != 0) {
      return false;
    }
  }
  if (own != nullptr) *own = x;
  return true;
}

// The two writes of an entry that holds a pending write: what shows,
// with its own expiry (it may carry the pending write's), and the pending
// write. False on malformed bytes.
inline bool split_pending(const EntryView& in, EntryView& shown,
                          EntryView& pending) {
  std::optional<Expiry> own;
  if (!read_pending(in.key, in.pending, pending, &own)) return false;
  shown = in;
  shown.pending = {};
  if (own) shown.expiry = own;
  return true;
}

inline void append_pending(std::string& out, const EntryView& pending,
                           const std::optional<Expiry>& own) {
  append_write(out, pending);
  if (own) {
    codec::Writer w(out);
    w.fixed(own->at_ms);
    w.fixed(own->version.hlc);
    w.fixed(own->version.origin);
  }
}

// Reads the next entry; false (and r fails) on malformed bytes.
inline bool read_entry(codec::Reader& r, EntryView& e) {
  return (r.view(e.key) || r.fail()) && read_write(r, e);
}

}  // namespace cmud::kv
