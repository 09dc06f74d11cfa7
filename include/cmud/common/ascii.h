// ASCII case folding for protocol words (command names, options) and the
// game's input, and integers in Redis's strict text form. Locale-independent;
// bytes above 127 are left as they are.
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmud {

// The bitmask of the space-separated `list` of names, bit i for names[i],
// for tables built at compile time: a name not in `names` does not compile.
template <class Names>
consteval uint32_t name_bits(const Names& names, std::string_view list) {
  uint32_t mask = 0;
  while (!list.empty()) {
    size_t end = list.find(' ');
    std::string_view word = list.substr(0, end);
    bool known = false;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == word) {
        mask |= uint32_t{1} << i;
        known = true;
      }
    }
    if (!known) throw "unknown name";  // a compile-time error
    list = end == std::string_view::npos ? "" : list.substr(end + 1);
  }
  return mask;
}

// The words of `line`, split at spaces and tabs (views into it).
inline std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}
constexpr char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}
inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

// Equal but for ASCII case.
constexpr bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return ascii_lower(x) == ascii_lower(y);
         });
}

// Integer text as Redis' string2ll accepts it: -?(0|[1-9][0-9]*) within
// int64; no '+', no leading zeros, no "-0", no spaces.
inline std::optional<int64_t> strict_int(std::string_view s) {
  const size_t first = !s.empty() && s[0] == '-' ? 1 : 0;
  if (first == s.size()) return std::nullopt;
  if (s[first] == '0' && s.size() != 1) return std::nullopt;
  int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || p != end) return std::nullopt;
  return v;
}

}  // namespace cmud
