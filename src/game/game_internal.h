// Private to cmud::game: the small text and number helpers that game.cc,
// session.cc and the commands (commands/*.cc) share.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/ascii.h"
#include "cmud/game/game.h"

namespace cmud::game {

namespace detail {

using namespace std::chrono_literals;

constexpr std::chrono::milliseconds kStoryBeat = 700ms;
constexpr std::chrono::milliseconds kRoundBeat = 350ms;
constexpr int64_t kMaxMine = 60;  // a minute of work (kWorkMs each)
constexpr int64_t kDefaultRounds = 10;
constexpr int64_t kMaxRounds = 100;
constexpr size_t kMaxSay = 300;
// Messages are looked for in the minutes covering the last 30 s (a message
// may become visible up to the remote sync deadline after it was written).
constexpr int64_t kMessageLookbackMs = 30'000;
constexpr int64_t kForgetMessagesMs = 10 * 60'000;
// Shown at login: at most this many lines said nearby in this long.
constexpr size_t kRecapLines = 5;
constexpr int64_t kRecapMs = 10 * 60'000;
constexpr int64_t kFullPollMs = 3'000;

inline int64_t sat_add(int64_t a, int64_t b) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  if (b > 0 && a > kMax - b) return kMax;
  return a + b;
}

// cmud::split_words, as owned strings.
inline std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  for (std::string_view w : cmud::split_words(line)) words.emplace_back(w);
  return words;
}

// True for a non-empty run of ASCII digits (a number, perhaps too large).
inline bool is_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

// The rest of the line after its first word.
inline std::string rest_after_first_word(std::string_view line) {
  size_t i = line.find_first_not_of(" \t");
  if (i == std::string_view::npos) return "";
  size_t j = line.find_first_of(" \t", i);
  if (j == std::string_view::npos) return "";
  return std::string(line.substr(j + 1));
}

// The player a command's argument names, normalized; nullopt (and why, in
// t) when it is not a valid name.
inline std::optional<std::string> player_arg(std::string_view arg, Text& t) {
  auto name = normalize_name(arg);
  if (!name.ok()) {
    t.line("That is not a player's name: " + name.status().message() + ".");
    return std::nullopt;
  }
  return std::move(*name);
}

inline void no_such_student(Text& t, std::string_view name) {
  t.line("The registrar has no student called " + std::string(name) + ".");
}

// After a message cut to kMaxSay (`kept` of `whole`): says so.
inline void note_cut(Text& t, const std::string& kept,
                     const std::string& whole) {
  if (kept.size() < whole.size()) {
    t.line("(Only the first " + std::to_string(kMaxSay) +
               " bytes were sent; send the rest again.)",
           Style::kDim);
  }
}

// Cuts s to at most n bytes without splitting a UTF-8 character.
inline std::string cut_utf8(std::string s, size_t n) {
  if (s.size() <= n) return s;
  size_t end = n;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  s.resize(end);
  return s;
}

inline std::string replace_all(std::string s, std::string_view from,
                               std::string_view to) {
  size_t at = 0;
  while ((at = s.find(from, at)) != std::string::npos) {
    s.replace(at, from.size(), to);
    at += to.size();
  }
  return s;
}

// A story: each line in the story style, a beat between lines.
inline void tell(Text& out, std::string_view story) {
  size_t from = 0;
  while (from <= story.size()) {
    size_t nl = story.find('\n', from);
    std::string_view line = story.substr(
        from, nl == std::string_view::npos ? story.npos : nl - from);
    out.pause(kStoryBeat).line(line, Style::kStory);
    if (nl == std::string_view::npos) break;
    from = nl + 1;
  }
}

inline std::string place_name(std::string_view id) {
  const PlaceInfo* p = find_place(id);
  return p ? std::string(p->name) : std::string(id);
}

// "north to the Quad, east to the Campus Store": where a place's exits
// lead.
inline std::string exits_phrase(std::string_view place) {
  std::string out;
  for (const Exit& e : exits(place)) {
    if (!out.empty()) out += ", ";
    out += std::string(e.direction) + " to " + place_name(e.to);
  }
  return out;
}

inline std::string capitalized(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') {
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
  }
  return s;
}

inline std::string plural(int64_t n, std::string_view one,
                          std::string_view many) {
  return with_commas(n) + " " + std::string(n == 1 ? one : many);
}

inline std::string hardware_name(size_t type, int64_t n) {
  std::string name(hardware_catalogue()[type].name);
  if (n != 1) name += "s";
  return name;
}

inline std::string random_hex(size_t digits) {
  std::random_device rd;
  std::string out;
  const char* hex = "0123456789abcdef";
  while (out.size() < digits) {
    uint32_t v = rd();
    for (int i = 0; i < 8 && out.size() < digits; ++i, v >>= 4) {
      out += hex[v & 0xf];
    }
  }
  return out;
}

inline std::string ago(int64_t ms) {
  if (ms < 60'000) return "active now";
  return "idle " + std::to_string(ms / 60'000) + " min";
}

}  // namespace detail

}  // namespace cmud::game
