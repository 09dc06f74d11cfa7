#include "cmud/kv/counter.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "cmud/common/ascii.h"
#include "cmud/common/codec.h"

namespace cmud::kv {

namespace {

// Redis' MAX_LONG_DOUBLE_CHARS: the longest text string2ld reads, and
// room for any finite long double in "%.17Lf".
constexpr size_t kMaxFloatChars = 5 * 1024;

// The float form's mark: where an integer form has its fixed base and its
// part count, a count larger than any meta.
constexpr uint64_t kFloatMarkBase = 0;
constexpr uint64_t kFloatMarkCount = std::numeric_limits<uint64_t>::max();
constexpr uint8_t kBaseInteger = 0;
constexpr uint8_t kBaseFloat = 1;

void write_float(codec::Writer& w, long double v) {
  if (v == 0) {
    w.fixed<uint8_t>(0);  // -0 too: it adds as 0
    return;
  }
  w.fixed<uint8_t>(std::signbit(v) ? 2 : 1);
  int exp = 0;
  long double m = std::frexp(std::fabs(v), &exp);  // in [0.5, 1)
  w.fixed(static_cast<int32_t>(exp));
  // 64 bits hold x86's whole mantissa (and any shorter one) exactly.
  w.fixed(static_cast<uint64_t>(std::ldexp(m, 64)));
}

bool read_float(codec::Reader& r, long double& v) {
  uint8_t sign = 0;
  if (!r.fixed(sign) || sign > 2) return r.fail();
  if (sign == 0) {
    v = 0;
    return true;
  }
  int32_t exp = 0;
  uint64_t mantissa = 0;
  if (!r.fixed(exp) || !r.fixed(mantissa)) return false;
  // Out of any long double's range: refused before ldexp sees it. The
  // caller's round trip refuses what does not come back the same.
  if (mantissa >> 63 == 0 || exp < -20000 || exp > 20000) return r.fail();
  v = std::ldexp(static_cast<long double>(mantissa), exp - 64);
  if (!std::isfinite(v)) return r.fail();
  if (sign == 2) v = -v;
  return true;
}

// The tail of an encoding: nothing (made 0), or varint made (not 0: one
// encoding per state) and nothing after it.
bool read_made(codec::Reader& r, uint64_t& made) {
  made = 0;
  if (r.remaining() == 0) return true;
  return r.varint(made) && made != 0 && r.remaining() == 0;
}

}  // namespace

std::optional<long double> parse_float(std::string_view s) {
  if (s.empty() || s.size() >= kMaxFloatChars) return std::nullopt;
  char buf[kMaxFloatChars];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  if (std::isspace(static_cast<unsigned char>(buf[0]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  long double v = std::strtold(buf, &end);
  if (end != buf + s.size() || errno == EINVAL || std::isnan(v) ||
      (errno == ERANGE && (std::isinf(v) || v == 0))) {
    return std::nullopt;
  }
  return v;
}

std::string float_text(long double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string s(kMaxFloatChars, '\0');
  int n = std::snprintf(s.data(), s.size(), "%.17Lf", v);
  s.resize(n < 0 ? 0 : std::min(static_cast<size_t>(n), s.size() - 1));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::optional<Counter> Counter::over(std::string_view value) {
  if (auto n = strict_int(value)) return Counter(*n);
  if (auto f = parse_float(value)) return float_based(*f);
  return std::nullopt;
}

std::optional<Counter> Counter::decode(std::string_view meta) {
  codec::Reader r(meta);
  Counter c;
  uint64_t n = 0;
  if (!r.fixed(c.base_) || !r.varint(n)) return std::nullopt;
  if (c.base_ == static_cast<int64_t>(kFloatMarkBase) && n == kFloatMarkCount) {
    return decode_float(meta);
  }
  if (n > r.remaining()) return std::nullopt;  // as codec's count()
  c.parts_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Part p;
    if (!r.fixed(p.origin) || !r.varint(p.up) || !r.varint(p.down)) {
      return std::nullopt;
    }
    if (!c.parts_.empty() && c.parts_.back().origin >= p.origin) {
      return std::nullopt;  // one part per origin, in order
    }
    c.parts_.push_back(p);
  }
  if (!read_made(r, c.made_)) return std::nullopt;
  return c;
}

std::optional<Counter> Counter::decode_float(std::string_view meta) {
  codec::Reader r(meta);
  Counter c;
  uint64_t mark_base = 0, mark_count = 0;
  uint8_t kind = 0;
  if (!r.fixed(mark_base) || !r.varint(mark_count) || !r.fixed(kind) ||
      kind > kBaseFloat) {
    return std::nullopt;
  }
  if (kind == kBaseFloat) {
    c.float_base_ = true;
    if (!read_float(r, c.fbase_)) return std::nullopt;
  } else if (!r.fixed(c.base_)) {
    return std::nullopt;
  }
  uint64_t n = 0;
  if (!r.count(n)) return std::nullopt;
  c.parts_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Part p;
    if (!r.fixed(p.origin) || !r.varint(p.up) || !r.varint(p.down) ||
        !read_float(r, p.fup) || !read_float(r, p.fdown) || p.fup < 0 ||
        p.fdown < 0) {
      return std::nullopt;
    }
    if (!c.parts_.empty() && c.parts_.back().origin >= p.origin) {
      return std::nullopt;  // one part per origin, in order
    }
    c.parts_.push_back(p);
  }
  if (!read_made(r, c.made_)) return std::nullopt;
  // One encoding per state: bytes that do not re-encode the same (an
  // integer counter in the float form, a mantissa written another way) are
  // not what any replica wrote, and would give two digests for one state.
  if (c.encoded() != meta) return std::nullopt;
  return c;
}

void Counter::encode(std::string& out) const {
  codec::Writer w(out);
  if (!is_float()) {
    w.fixed(base_);
    w.varint(parts_.size());
    for (const Part& p : parts_) {
      w.fixed(p.origin);
      w.varint(p.up);
      w.varint(p.down);
    }
    if (made_ != 0) w.varint(made_);
    return;
  }
  w.fixed(kFloatMarkBase);
  w.varint(kFloatMarkCount);
  if (float_base_) {
    w.fixed(kBaseFloat);
    write_float(w, fbase_);
  } else {
    w.fixed(kBaseInteger);
    w.fixed(base_);
  }
  w.varint(parts_.size());
  for (const Part& p : parts_) {
    w.fixed(p.origin);
    w.varint(p.up);
    w.varint(p.down);
    write_float(w, p.fup);
    write_float(w, p.fdown);
  }
  if (made_ != 0) w.varint(made_);
}

bool Counter::same_base(const Counter& other) const {
  if (float_base_ != other.float_base_) return false;
  // Bitwise, as encoded: 0 and -0 are one base.
  return float_base_ ? fbase_ == other.fbase_ : base_ == other.base_;
}

bool Counter::is_float() const {
  if (float_base_) return true;
  return std::any_of(parts_.begin(), parts_.end(),
                     [](const Part& p) { return p.fup != 0 || p.fdown != 0; });
}

__int128 Counter::total() const {
  __int128 t = base_;
  for (const Part& p : parts_) {
    t += static_cast<__int128>(p.up);
    t -= static_cast<__int128>(p.down);
  }
  return t;
}

long double Counter::float_total() const {
  __int128 ints = 0;
  for (const Part& p : parts_) {
    ints += static_cast<__int128>(p.up);
    ints -= static_cast<__int128>(p.down);
  }
  long double t = base_value();
  t += static_cast<long double>(ints);
  for (const Part& p : parts_) t += p.fup - p.fdown;
  return t;
}

std::optional<int64_t> Counter::integer() const {
  if (!is_float()) {
    __int128 t = total();
    if (t > std::numeric_limits<int64_t>::max() ||
        t < std::numeric_limits<int64_t>::min()) {
      return std::nullopt;
    }
    return static_cast<int64_t>(t);
  }
  long double t = float_total();
  // [-2^63, 2^63): exact in a 64-bit mantissa.
  if (!(t >= -0x1p63L && t < 0x1p63L) || std::trunc(t) != t) {
    return std::nullopt;
  }
  return static_cast<int64_t>(t);
}

std::string Counter::text() const {
  if (is_float()) return float_text(float_total());
  __int128 t = total();
  bool negative = t < 0;
  // Magnitude as unsigned: safe for the most negative value too.
  unsigned __int128 m = negative ? -static_cast<unsigned __int128>(t)
                                 : static_cast<unsigned __int128>(t);
  std::string s;
  do {
    s.push_back(static_cast<char>('0' + static_cast<int>(m % 10)));
    m /= 10;
  } while (m != 0);
  if (negative) s.push_back('-');
  std::reverse(s.begin(), s.end());
  return s;
}

Counter::Part& Counter::part(uint64_t origin) {
  auto it =
      std::lower_bound(parts_.begin(), parts_.end(), origin,
                       [](const Part& p, uint64_t o) { return p.origin < o; });
  if (it == parts_.end() || it->origin != origin) {
    it = parts_.insert(it, Part{origin});
  }
  return *it;
}

bool Counter::add(uint64_t origin, int64_t delta) {
  std::optional<int64_t> now = integer();
  if (!now) return false;
  __int128 t = static_cast<__int128>(*now) + delta;
  if (t > std::numeric_limits<int64_t>::max() ||
      t < std::numeric_limits<int64_t>::min()) {
    return false;
  }
  Counter next = *this;
  Part& p = next.part(origin);
  // The magnitude of INT64_MIN does not fit int64: take it as unsigned.
  uint64_t m = delta < 0 ? uint64_t{0} - static_cast<uint64_t>(delta)
                         : static_cast<uint64_t>(delta);
  uint64_t& side = delta < 0 ? p.down : p.up;
  if (side > std::numeric_limits<uint64_t>::max() - m) return false;
  side += m;
  *this = std::move(next);
  return true;
}

bool Counter::add_float(uint64_t origin, long double delta) {
  if (!std::isfinite(delta)) return false;
  Counter next = *this;
  Part& p = next.part(origin);
  long double& side = std::signbit(delta) ? p.fdown : p.fup;
  side += std::fabs(delta);
  if (!std::isfinite(side) || !std::isfinite(next.float_total())) {
    return false;
  }
  *this = std::move(next);
  return true;
}

bool Counter::merge(const Counter& other) {
  std::vector<Part> out;
  out.reserve(parts_.size() + other.parts_.size());
  bool changed = false;
  size_t i = 0, j = 0;
  while (i < parts_.size() || j < other.parts_.size()) {
    if (j == other.parts_.size() ||
        (i < parts_.size() && parts_[i].origin < other.parts_[j].origin)) {
      out.push_back(parts_[i++]);
    } else if (i == parts_.size() ||
               other.parts_[j].origin < parts_[i].origin) {
      out.push_back(other.parts_[j++]);
      changed = true;
    } else {
      Part p = parts_[i++];
      const Part& q = other.parts_[j++];
      if (q.up > p.up || q.down > p.down || q.fup > p.fup ||
          q.fdown > p.fdown) {
        changed = true;
      }
      p.up = std::max(p.up, q.up);
      p.down = std::max(p.down, q.down);
      p.fup = std::max(p.fup, q.fup);
      p.fdown = std::max(p.fdown, q.fdown);
      out.push_back(p);
    }
  }
  parts_ = std::move(out);
  if (other.made_ > made_) {
    made_ = other.made_;
    changed = true;
  }
  return changed;
}

}  // namespace cmud::kv
