// top: the leaderboard.
#include "command.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_top(PlayerSession& s, const Args&) {
  auto players = s.store().list(keys::player_prefix());
  if (!players.ok()) return s.storage_trouble(players.status(), "");
  s.remember_players(*players, keys::player_prefix());
  std::vector<Player> all;
  for (const auto& [key, value] : *players) {
    auto n = keys::name_after(keys::player_prefix(), key);
    if (!n) continue;
    if (*n == s.name()) {
      all.push_back(s.me());
      continue;
    }
    auto p = decode_player(value);
    if (!p.ok()) continue;
    p->name = *n;
    all.push_back(std::move(*p));
  }
  std::sort(all.begin(), all.end(), [](const Player& a, const Player& b) {
    if (a.rank != b.rank) return a.rank > b.rank;
    if (a.coins != b.coins) return a.coins > b.coins;
    return a.name < b.name;
  });
  Text t;
  t.line("The leaderboard", Style::kTitle);
  for (size_t i = 0; i < all.size(); ++i) {
    bool me = all[i].name == s.name();
    if (i >= 10 && !me) continue;
    std::string pos = std::to_string(i + 1) + ".";
    pos.resize(5, ' ');
    std::string name = all[i].name;
    std::string rank(rank_info(all[i].rank).name);
    t.add("  " + pos)
        .add(name, Style::kPlayer)
        .add(std::string(name.size() < 25 ? 25 - name.size() : 1, ' '))
        .add(rank + std::string(rank.size() < 15 ? 15 - rank.size() : 1, ' '))
        .add(plural(all[i].coins, "coin", "coins"), Style::kCoins);
    if (me) t.add("  <- you", Style::kDim);
    t.line();
  }
  return t;
}

}  // namespace cmud::game
