// stats: the player's record.
#include "command.h"

#include <ctime>
#include <string>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_stats(PlayerSession& s, const Args&) {
  const Player& me = s.me();
  Text t;
  t.add(me.name, Style::kPlayer)
      .add(", ")
      .line(std::string(rank_info(me.rank).name), Style::kTitle);
  t.add("  Coins:    ").line(with_commas(me.coins), Style::kCoins);
  t.line("  Power:    " + with_commas(total_power(me.hardware)) + " (" +
         plural(total_units(me.hardware), "machine", "machines") + ")");
  t.add("  Place:    ").line(capitalized(place_name(me.place)), Style::kPlace);
  if (me.rank < kRetired) {
    t.line("  Problem:  " + std::string(rank_info(me.rank).problem) +
           (me.term >= 0 && me.damage > 0
                ? " (you have dealt " + with_commas(me.damage) + " damage)"
                : ""));
  }
  t.line("  Mined:    " + with_commas(me.mined) + " coins; given " +
         with_commas(me.given) + ", received " + with_commas(me.received) +
         "; " + plural(me.rounds, "battle round", "battle rounds") + ".");
  if (me.created_ms > 0) {
    std::time_t secs = static_cast<std::time_t>(me.created_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    t.line("  Enrolled: " + std::string(buf), Style::kDim);
  }
  return t;
}

}  // namespace cmud::game
