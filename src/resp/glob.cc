// Redis-style glob matching (resp.h).
//
// The language is that of Redis' stringmatchlen (util.c), case-sensitive:
//   *      any run of bytes, including none
//   ?      any one byte
//   [...]  one byte from the class: "^" first negates; "a-z" is a range (the
//          ends in either order); "\x" is x; "]" ends the class, and a class
//          without "]" runs to the end of the pattern
//   \x     the byte x; a "\" ending the pattern is itself
//   other  that byte
// Two deliberate differences: "*" matches the empty string (Redis' loop
// never tries, so there "*" and "**" fail on "", which KEYS * and SCAN hide
// by special-casing "*"), and range ends compare as unsigned bytes (Redis
// compares plain chars, so bytes >= 0x80 depend on the platform's signedness).
//
// Every element but "*" matches exactly one byte, so one remembered star
// with backtracking suffices: on a mismatch the latest star takes one more
// byte and matching resumes after it. That is O(pattern * string) at worst,
// with no recursion, where naive recursion is exponential on "a*a*a*a*b".
#include "cmud/resp/resp.h"

#include <string>
#include <string_view>
#include <utility>

namespace cmud::resp {
namespace {

unsigned char byte(char c) { return static_cast<unsigned char>(c); }

struct ElementMatch {
  bool matches = false;
  size_t next = 0;  // index just past the element
};

// The class whose body starts at p[i] (just after the "[").
ElementMatch match_class(std::string_view p, size_t i, unsigned char c) {
  const size_t n = p.size();
  const bool negate = i < n && p[i] == '^';
  if (negate) ++i;
  bool hit = false;
  while (i < n && p[i] != ']') {
    if (p[i] == '\\' && i + 1 < n) {
      hit |= byte(p[i + 1]) == c;
      i += 2;
    } else if (i + 2 < n && p[i + 1] == '-') {
      unsigned char lo = byte(p[i]);
      unsigned char hi = byte(p[i + 2]);
      if (lo > hi) std::swap(lo, hi);
      hit |= lo <= c && c <= hi;
      i += 3;
    } else {
      hit |= byte(p[i]) == c;
      ++i;
    }
  }
  if (i < n) ++i;  // the "]"
  return {hit != negate, i};
}

// The one-byte element (anything but "*") at p[i] against c.
ElementMatch match_element(std::string_view p, size_t i, unsigned char c) {
  switch (p[i]) {
    case '?':
      return {true, i + 1};
    case '[':
      return match_class(p, i + 1, c);
    case '\\':
      if (i + 1 < p.size()) return {byte(p[i + 1]) == c, i + 2};
      return {c == '\\', i + 1};
    default:
      return {byte(p[i]) == c, i + 1};
  }
}

// Index of the first special character of `pattern` (or its size), the
// literal text before it appended to `literal` when given.
size_t literal_end(std::string_view pattern, std::string* literal) {
  size_t i = 0;
  while (i < pattern.size()) {
    const char c = pattern[i];
    if (c == '*' || c == '?' || c == '[') break;
    if (c == '\\' && i + 1 < pattern.size()) {
      if (literal != nullptr) *literal += pattern[i + 1];
      i += 2;
    } else {
      if (literal != nullptr) *literal += c;
      ++i;
    }
  }
  return i;
}

}  // namespace

bool glob_match(std::string_view pattern, std::string_view s) {
  constexpr size_t kNoStar = std::string_view::npos;
  const size_t n = pattern.size();
  size_t pi = 0;
  size_t si = 0;
  size_t star_pi = kNoStar;  // pattern index just after the latest star
  size_t star_si = 0;        // where the bytes that star takes end
  while (si < s.size()) {
    if (pi < n && pattern[pi] == '*') {
      while (pi < n && pattern[pi] == '*') ++pi;
      if (pi == n) return true;
      star_pi = pi;
      star_si = si;
      continue;
    }
    if (pi < n) {
      const ElementMatch m = match_element(pattern, pi, byte(s[si]));
      if (m.matches) {
        pi = m.next;
        ++si;
        continue;
      }
    }
    if (star_pi == kNoStar) return false;
    pi = star_pi;
    si = ++star_si;
  }
  while (pi < n && pattern[pi] == '*') ++pi;
  return pi == n;
}

std::string glob_literal_prefix(std::string_view pattern) {
  std::string literal;
  literal_end(pattern, &literal);
  return literal;
}

bool glob_is_prefix(std::string_view pattern) {
  const size_t end = literal_end(pattern, nullptr);
  return end + 1 == pattern.size() && pattern[end] == '*';
}

}  // namespace cmud::resp
