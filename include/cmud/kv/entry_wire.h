// The one encoding of a store entry, shared by sync batches, repair, the
// write-ahead log and snapshots: bytes key, bytes value, u64 hlc, u64
// origin, u8 flags (1: deleted, 2: a counter, whose bytes meta follow)
// (codec.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cmud/common/codec.h"
#include "cmud/kv/store.h"

namespace cmud::kv {

// One decoded entry, viewing the buffer it was read from.
struct EntryView {
  std::string_view key;
  std::string_view value;
  uint64_t hlc = 0;
  uint64_t origin = 0;
  bool deleted = false;
  std::string_view meta;  // a counter's state (kv::Counter); else empty

  Version version() const { return {hlc, origin}; }
};

inline constexpr uint8_t kEntryDeleted = 1;
inline constexpr uint8_t kEntryCounter = 2;

inline void append_entry(std::string& out, std::string_view key,
                         std::string_view value, uint64_t hlc, uint64_t origin,
                         bool deleted, std::string_view meta = {}) {
  codec::Writer w(out);
  w.bytes(key);
  w.bytes(value);
  w.fixed(hlc);
  w.fixed(origin);
  if (!meta.empty() && !deleted) {
    w.fixed<uint8_t>(kEntryCounter);
    w.bytes(meta);
  } else {
    w.fixed<uint8_t>(deleted ? kEntryDeleted : 0);
  }
}

inline void append_entry(std::string& out, const Entry& e) {
  append_entry(out, e.key(), e.value(), e.version().hlc, e.version().origin,
               e.deleted(), e.meta());
}

// Reads the next entry; false (and r fails) on malformed bytes.
inline bool read_entry(codec::Reader& r, EntryView& e) {
  uint8_t flags = 0;
  if (!r.view(e.key) || !r.view(e.value) || !r.fixed(e.hlc) ||
      !r.fixed(e.origin) || !r.fixed(flags) || flags > kEntryCounter) {
    return r.fail();
  }
  e.deleted = flags == kEntryDeleted;
  e.meta = {};
  if (flags == kEntryCounter && (!r.view(e.meta) || e.meta.empty())) {
    return r.fail();
  }
  return true;
}

}  // namespace cmud::kv
