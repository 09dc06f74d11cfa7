// The one encoding of a store entry, shared by sync batches, repair, the
// write-ahead log and snapshots: bytes key, bytes value, u64 hlc, u64
// origin, u8 deleted (codec.h).
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

  Version version() const { return {hlc, origin}; }
};

inline void append_entry(std::string& out, std::string_view key,
                         std::string_view value, uint64_t hlc, uint64_t origin,
                         bool deleted) {
  codec::Writer w(out);
  w.bytes(key);
  w.bytes(value);
  w.fixed(hlc);
  w.fixed(origin);
  w.fixed<uint8_t>(deleted ? 1 : 0);
}

inline void append_entry(std::string& out, const Entry& e) {
  append_entry(out, e.key(), e.value(), e.version().hlc, e.version().origin,
               e.deleted());
}

// Reads the next entry; false (and r fails) on malformed bytes.
inline bool read_entry(codec::Reader& r, EntryView& e) {
  uint8_t deleted = 0;
  if (!r.view(e.key) || !r.view(e.value) || !r.fixed(e.hlc) ||
      !r.fixed(e.origin) || !r.fixed(deleted) || deleted > 1) {
    return r.fail();
  }
  e.deleted = deleted != 0;
  return true;
}

}  // namespace cmud::kv
