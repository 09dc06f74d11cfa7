// Versions for last-writer-wins: a hybrid logical clock value plus the
// originating actor, totally ordered.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <string_view>

#include "cmud/common/codec.h"
#include "cmud/common/hash.h"

namespace cmud::kv {

// hlc packs wall-clock milliseconds (high 48 bits) and a logical counter
// (low 16 bits); origin is origin_of(uid) of the actor that took the Put.
// Ordered by hlc, then origin: a deterministic tie-break every replica agrees
// on.
struct Version {
  uint64_t hlc = 0;
  uint64_t origin = 0;

  friend auto operator<=>(const Version&, const Version&) = default;
  friend bool operator==(const Version&, const Version&) = default;
  CMUD_FIELDS(hlc, origin)

  static constexpr int kLogicalBits = 16;
  static uint64_t pack(uint64_t ms, uint64_t logical) {
    return (ms << kLogicalBits) | logical;
  }
  uint64_t wall_ms() const { return hlc >> kLogicalBits; }
  uint64_t logical() const { return hlc & ((uint64_t{1} << kLogicalBits) - 1); }
};

// A stable 64-bit id for an actor uid; the same on every server.
constexpr uint64_t origin_of(std::string_view uid) { return fnv1a_64(uid); }

// Milliseconds since the Unix epoch.
inline uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// A hybrid logical clock (Kulkarni et al.): next() is strictly greater than
// every value it returned or observed before, and follows the wall clock
// when that is ahead. So a Put made after seeing a value beats that value
// even when this machine's clock is behind the writer's.
// Thread-compatible: owned by one actor.
class HybridClock {
 public:
  explicit HybridClock(std::function<uint64_t()> now_ms = wall_clock_ms)
      : now_ms_(std::move(now_ms)) {}

  uint64_t next() { return next(now_ms_()); }
  // next() with the wall clock read by the caller (a burst of writes reads
  // it once); now_ms may lag the clock: the result still only grows.
  uint64_t next(uint64_t now_ms) {
    uint64_t wall = Version::pack(now_ms, 0);
    last_ = wall > last_ ? wall : last_ + 1;
    return last_;
  }
  uint64_t now_ms() const { return now_ms_(); }
  void observe(uint64_t hlc) {
    if (hlc > last_) last_ = hlc;
  }
  uint64_t last() const { return last_; }

 private:
  std::function<uint64_t()> now_ms_;
  uint64_t last_ = 0;
};

}  // namespace cmud::kv
