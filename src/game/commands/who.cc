// who: the players around lately.
#include "command.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_who(PlayerSession& s, const Args&) {
  auto seen = s.store().list(keys::seen_prefix());
  if (!seen.ok()) return s.storage_trouble(seen.status(), "");
  s.remember_players(*seen, keys::seen_prefix());
  struct Row {
    std::string name;
    Heartbeat hb;
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : *seen) {
    auto n = keys::name_after(keys::seen_prefix(), key);
    auto hb = decode_heartbeat(value);
    if (n && hb.ok() && s.active(*hb)) rows.push_back({*n, *hb});
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.name < b.name; });
  Text t;
  t.line("Around in the last 5 minutes:", Style::kTitle);
  int64_t now = s.now_ms();
  for (const Row& row : rows) {
    std::string place = row.name == s.name() ? s.me().place : row.hb.place;
    t.add("  ")
        .add(row.name, Style::kPlayer)
        .add(" (" + std::string(rank_info(row.hb.rank).name) + ") at ")
        .add(place_name(place), Style::kPlace)
        .line(", " + (row.name == s.name() ? std::string("that's you")
                                           : ago(now - row.hb.at_ms)),
              Style::kDim);
  }
  if (rows.empty()) t.line("  Nobody. Not even you, apparently.");
  return t;
}

}  // namespace cmud::game
