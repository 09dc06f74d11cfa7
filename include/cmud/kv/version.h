// Versions for last-writer-wins: a hybrid logical clock value plus the
// originating actor, totally ordered.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
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
  static constexpr uint64_t pack(uint64_t ms, uint64_t logical) {
    return (ms << kLogicalBits) | logical;
  }
  constexpr uint64_t wall_ms() const { return hlc >> kLogicalBits; }
  uint64_t logical() const { return hlc & ((uint64_t{1} << kLogicalBits) - 1); }
};

// A stable 64-bit id for an actor uid; the same on every server.
constexpr uint64_t origin_of(std::string_view uid) { return fnv1a_64(uid); }

// The origin of a query actor's writes: its uid and its server's
// incarnation, so that a server restarted without its state never reissues
// an (hlc, origin) pair another replica holds with a different value.
inline uint64_t origin_of(std::string_view uid, uint64_t incarnation) {
  std::string s(uid);
  s += '#';
  s += std::to_string(incarnation);
  return origin_of(s);
}

// The greatest wall-clock time a version may carry: next() after any clock
// value up to here cannot wrap (the wall part keeps 48 bits, ~year 10889).
inline constexpr uint64_t kMaxWallMs = (uint64_t{1} << 48) - 2;

// What to do with a version that comes from elsewhere. Every path that
// brings a version (or an absolute time) into a replica asks admit() first:
// sync and a join's stream today; log replay, snapshots, repair and expiry
// times as they come. See docs/VERSIONS.md.
enum class Admit : uint8_t {
  kAccept,  // apply it; the clock may observe it
  kStale,   // below the replica's floor: drop it silently (already cleared)
  kHold,    // more than max_skew ahead of our wall clock: keep it (bounded)
            // and ask again later; the clock must not observe it meanwhile
  kRefuse,  // beyond any clock (kMaxWallMs): never valid; drop and report
};

struct AdmitRules {
  uint64_t max_skew_ms = 60'000;  // how far ahead of us a version may be
};

// The one validator. now_ms is this replica's wall clock; floor its floor.
constexpr Admit admit(const Version& v, uint64_t now_ms, const Version& floor,
                      const AdmitRules& rules = {}) {
  if (v.wall_ms() > kMaxWallMs) return Admit::kRefuse;
  if (v < floor) return Admit::kStale;
  uint64_t limit = now_ms > kMaxWallMs - rules.max_skew_ms
                       ? kMaxWallMs
                       : now_ms + rules.max_skew_ms;
  if (v.wall_ms() > limit) return Admit::kHold;
  return Admit::kAccept;
}

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
  // REQUIRES: hlc was admitted (admit() == kAccept), so the clock stays
  // within reach of the wall clock and next() can never wrap.
  void observe(uint64_t hlc) {
    if (hlc > last_) last_ = hlc;
  }
  uint64_t last() const { return last_; }

 private:
  std::function<uint64_t()> now_ms_;
  uint64_t last_ = 0;
};

}  // namespace cmud::kv
