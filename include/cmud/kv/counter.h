// Counter: the state of a key that INCR/DECR/INCRBYFLOAT made a counter, a
// conflict-free type (a PN-counter over a base). Each origin (one query
// actor in one incarnation) adds only to its own part, whose sums only
// grow; two states of the same base merge by taking, per origin, the
// greater of each sum, so every increment made anywhere counts once,
// whatever order the states arrive in. The base is the number the key held
// at the version the counter started from (a SET, a delete, a clear, or
// nothing: 0); the store keeps that version as the entry's, so a later SET,
// DEL or FLUSHALL starts a new base and the old parts go with it.
//
// Integers and floats. A part holds two pairs of sums: `up`/`down`, exact
// integers (INCR, INCRBY), and `fup`/`fdown`, long doubles (INCRBYFLOAT).
// The base is an integer when the key's text is one (Redis's string2ll),
// else a float (string2ld), so every replica derives the same base from the
// same text. An INCR on one server and an INCRBYFLOAT on another, on the
// same base, therefore merge as any two states do: per origin, the greater
// of each of the four sums; the result holds both and its total adds them
// (float_total()), in the same order on every replica. A counter with no
// float in it (is_float() false) is an integer counter, encoded and
// rendered as before floats existed.
//
// Why long double: Redis computes INCRBYFLOAT in long double and renders 17
// decimals, so with double "1.1 + 2.2" would read 3.3000000000000003 where
// Redis answers 3.3. The encoding stores each long double as sign, binary
// exponent and 64-bit mantissa, so x86-64's 80-bit format round-trips
// exactly; every replica must share that format (as they share the build),
// or totals and digests would differ in their last bits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmud::kv {

// Float text as Redis' string2ld accepts it (strtold over the whole text):
// no leading space, nothing after the number (a NUL included), not NaN, no
// overflow; "inf" is accepted, as in Redis (INCRBYFLOAT then refuses it).
std::optional<long double> parse_float(std::string_view s);
// A long double as INCRBYFLOAT answers it (Redis' ld2string LD_STR_HUMAN):
// "%.17Lf" with trailing zeros and a trailing '.' removed, "-0" as "0".
std::string float_text(long double v);

// Thread-compatible.
class Counter {
 public:
  struct Part {
    uint64_t origin = 0;
    uint64_t up = 0;
    uint64_t down = 0;
    long double fup = 0;    // INCRBYFLOAT's positive increments, summed
    long double fdown = 0;  // and the magnitudes of its negative ones
    bool operator==(const Part&) const = default;
  };

  Counter() = default;
  explicit Counter(int64_t base) : base_(base) {}
  // A counter over a float base (a key whose text is a float, not an
  // integer).
  static Counter float_based(long double base) {
    Counter c;
    c.float_base_ = true;
    c.fbase_ = base;
    return c;
  }
  // The counter that starts on a plain value: an integer base if the text
  // is an integer, a float base if it is a float; nullopt otherwise.
  static std::optional<Counter> over(std::string_view value);

  // The encoded state (the entry's meta bytes). An integer counter: fixed
  // base, varint count, then per part fixed origin, varint up, varint down,
  // origins ascending. Either form ends with varint made() when it is not
  // 0 (and never with a 0). A float counter: fixed u64 0 and varint UINT64_MAX
  // (a count no integer form can hold, as it exceeds the bytes left), a
  // kind byte and the base, varint count, then per part fixed origin,
  // varint up, varint down, fup, fdown. A long double is a byte (0: zero,
  // 1: positive, 2: negative), then, unless zero, fixed i32 exponent and
  // fixed u64 mantissa (top bit set). nullopt for malformed bytes, trailing
  // bytes included, and for any float form that is not the one encode()
  // writes for that state.
  static std::optional<Counter> decode(std::string_view meta);
  void encode(std::string& out) const;
  std::string encoded() const {
    std::string s;
    encode(s);
    return s;
  }

  // The integer base. REQUIRES: !float_base().
  int64_t base() const { return base_; }
  bool float_base() const { return float_base_; }
  // The base as a long double, whichever its kind.
  long double base_value() const {
    return float_base_ ? fbase_ : static_cast<long double>(base_);
  }
  bool same_base(const Counter& other) const;
  const std::vector<Part>& parts() const { return parts_; }
  // The hybrid clock's value when the newest increment in this state was
  // made (0: not known, a state from before it was kept). The base's
  // version says nothing of it, so tombstone collection reads this to
  // tell a late state, all of whose increments every replica holds, from
  // one that still brings news (kv::Store::apply).
  uint64_t made() const { return made_; }
  // An increment made now, at hlc.
  void mark_made(uint64_t hlc) { made_ = std::max(made_, hlc); }
  // True if the base or any part holds a float: the total is then
  // float_total() and the encoding the float form.
  bool is_float() const;

  // An integer counter's base + sum(up) - sum(down); may leave the int64
  // range only if parts made on different servers add past it.
  // REQUIRES: !is_float().
  __int128 total() const;
  // The total as a long double: base, then the integer parts' sum, then
  // each part's fup - fdown by origin ascending (one order everywhere).
  long double float_total() const;
  // The total if it is an integer within int64 (what INCR may add to).
  std::optional<int64_t> integer() const;
  // The total as GET answers it: decimal for an integer counter, else
  // float_text(float_total()).
  std::string text() const;

  // Adds delta to origin's integer part. False, and no change, when the
  // total is not an integer within int64, would leave that range, or the
  // part would overflow.
  bool add(uint64_t origin, int64_t delta);
  // Adds delta to origin's float part. False, and no change, when delta,
  // the part or the total would be NaN or infinite.
  bool add_float(uint64_t origin, long double delta);
  // Takes, per origin, the greater of each sum of this and other, and the
  // later made(). REQUIRES: same_base(other). Returns true if this changed.
  bool merge(const Counter& other);

  bool operator==(const Counter&) const = default;

 private:
  // The float form (decode() found its mark).
  static std::optional<Counter> decode_float(std::string_view meta);
  Part& part(uint64_t origin);

  int64_t base_ = 0;
  bool float_base_ = false;
  long double fbase_ = 0;    // the base when float_base_
  std::vector<Part> parts_;  // by origin, ascending
  uint64_t made_ = 0;
};

}  // namespace cmud::kv
