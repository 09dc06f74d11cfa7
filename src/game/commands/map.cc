// map: every place and who is there.
#include "command.h"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_map(PlayerSession& s, const Args&) {
  auto players = s.store().list(keys::player_prefix());
  if (!players.ok()) return s.storage_trouble(players.status(), "");
  auto seen = s.store().list(keys::seen_prefix());
  if (!seen.ok()) return s.storage_trouble(seen.status(), "");
  s.remember_players(*players, keys::player_prefix());
  std::set<std::string> awake = s.awake(*seen);
  std::map<std::string, std::vector<std::string>> present;
  std::map<std::string, int> asleep;
  for (const auto& [key, value] : *players) {
    auto n = keys::name_after(keys::player_prefix(), key);
    if (!n) continue;
    auto p = decode_player(value);
    if (!p.ok()) continue;
    std::string place = *n == s.name() ? s.me().place : p->place;
    if (*n == s.name() || awake.count(*n)) {
      present[place].push_back(*n);
    } else {
      ++asleep[place];
    }
  }
  Text t;
  t.line("The campus", Style::kTitle);
  for (const auto& place : places()) {
    std::string id(place.id);
    std::string label = capitalized(std::string(place.name)) + " (" + id + ")";
    t.add(id == s.me().place ? "* " : "  ");
    t.add(label, Style::kPlace);
    const auto& names = present[id];
    if (label.size() < 32 && (!names.empty() || asleep[id] > 0)) {
      t.add(std::string(32 - label.size(), ' '));
    }
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) t.add(", ");
      t.add(names[i], Style::kPlayer);
      if (names[i] == s.name()) t.add(" (you)", Style::kDim);
    }
    if (asleep[id] > 0) {
      t.add((names.empty() ? "" : ", ") +
                plural(asleep[id], "sleeper", "sleepers"),
            Style::kDim);
    }
    t.line();
    t.line("      " + exits_phrase(id), Style::kDim);
  }
  return t;
}

}  // namespace cmud::game
