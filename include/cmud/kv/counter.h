// Counter: the state of a key that INCR/DECR made a counter, a conflict-free
// type (a PN-counter over a base). Each origin (one query actor in one
// incarnation) adds only to its own part, whose `up` and `down` only grow;
// two states of the same base merge by taking, per origin, the greater of
// each, so every increment made anywhere counts once, whatever order the
// states arrive in. The base is the number the key held at the version the
// counter started from (a SET, a delete, a clear, or nothing: 0); the
// store keeps that version as the entry's, so a later SET, DEL or FLUSHALL
// starts a new base and the old parts go with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmud::kv {

// Thread-compatible.
class Counter {
 public:
  struct Part {
    uint64_t origin = 0;
    uint64_t up = 0;
    uint64_t down = 0;
    bool operator==(const Part&) const = default;
  };

  Counter() = default;
  explicit Counter(int64_t base) : base_(base) {}

  // The encoded state (the entry's meta bytes): fixed base, varint count,
  // then per part fixed origin, varint up, varint down, origins ascending.
  // nullopt for malformed bytes, trailing bytes included.
  static std::optional<Counter> decode(std::string_view meta);
  void encode(std::string& out) const;
  std::string encoded() const {
    std::string s;
    encode(s);
    return s;
  }

  int64_t base() const { return base_; }
  const std::vector<Part>& parts() const { return parts_; }
  // base + sum(up) - sum(down); may leave the int64 range only if parts
  // made on different servers add past it.
  __int128 total() const;
  // total() in decimal, what GET answers.
  std::string text() const;

  // Adds delta to origin's part. False, and no change, when the total
  // would leave the int64 range or the part would overflow.
  bool add(uint64_t origin, int64_t delta);
  // Takes, per origin, the greater up and down of this and other.
  // REQUIRES: same base. Returns true if this changed.
  bool merge(const Counter& other);

  bool operator==(const Counter&) const = default;

 private:
  int64_t base_ = 0;
  std::vector<Part> parts_;  // by origin, ascending
};

}  // namespace cmud::kv
