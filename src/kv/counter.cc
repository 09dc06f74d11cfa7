#include "cmud/kv/counter.h"

#include <algorithm>
#include <limits>

#include "cmud/common/codec.h"

namespace cmud::kv {

std::optional<Counter> Counter::decode(std::string_view meta) {
  codec::Reader r(meta);
  Counter c;
  uint64_t n = 0;
  if (!r.fixed(c.base_) || !r.count(n)) return std::nullopt;
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
  if (r.remaining() != 0) return std::nullopt;
  return c;
}

void Counter::encode(std::string& out) const {
  codec::Writer w(out);
  w.fixed(base_);
  w.varint(parts_.size());
  for (const Part& p : parts_) {
    w.fixed(p.origin);
    w.varint(p.up);
    w.varint(p.down);
  }
}

__int128 Counter::total() const {
  __int128 t = base_;
  for (const Part& p : parts_) {
    t += static_cast<__int128>(p.up);
    t -= static_cast<__int128>(p.down);
  }
  return t;
}

std::string Counter::text() const {
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

bool Counter::add(uint64_t origin, int64_t delta) {
  __int128 t = total() + delta;
  if (t > std::numeric_limits<int64_t>::max() ||
      t < std::numeric_limits<int64_t>::min()) {
    return false;
  }
  auto it =
      std::lower_bound(parts_.begin(), parts_.end(), origin,
                       [](const Part& p, uint64_t o) { return p.origin < o; });
  Part p{origin, 0, 0};
  if (it != parts_.end() && it->origin == origin) p = *it;
  // The magnitude of INT64_MIN does not fit int64: take it as unsigned.
  uint64_t m = delta < 0 ? uint64_t{0} - static_cast<uint64_t>(delta)
                         : static_cast<uint64_t>(delta);
  uint64_t& side = delta < 0 ? p.down : p.up;
  if (side > std::numeric_limits<uint64_t>::max() - m) return false;
  side += m;
  if (it != parts_.end() && it->origin == origin) {
    *it = p;
  } else {
    parts_.insert(it, p);
  }
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
      if (q.up > p.up || q.down > p.down) changed = true;
      p.up = std::max(p.up, q.up);
      p.down = std::max(p.down, q.down);
      out.push_back(p);
    }
  }
  parts_ = std::move(out);
  return changed;
}

}  // namespace cmud::kv
