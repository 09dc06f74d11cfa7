// look: the place and who is in it.
#include "command.h"

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

namespace {

Text who_is_here(const PlayerSession& s, const KeyValues& players,
                 const KeyValues& seen) {
  std::set<std::string> awake = s.awake(seen);
  std::vector<std::string> here;
  int asleep = 0;
  for (const auto& [key, value] : players) {
    auto n = keys::name_after(keys::player_prefix(), key);
    if (!n || *n == s.name()) continue;
    auto p = decode_player(value);
    if (!p.ok() || p->place != s.me().place) continue;
    if (awake.count(*n)) {
      here.push_back(*n);
    } else {
      ++asleep;
    }
  }
  Text t;
  if (here.empty()) {
    t.add("Nobody else is here");
  } else {
    t.add("Here: ");
    for (size_t i = 0; i < here.size(); ++i) {
      if (i > 0) t.add(", ");
      t.add(here[i], Style::kPlayer);
    }
  }
  if (asleep > 0) {
    t.add(here.empty() ? " (" : " (plus ")
        .add(plural(asleep, "student", "students") + " asleep in a corner)");
  }
  t.line(".");
  return t;
}

}  // namespace

// look <player>: their rank and hardware, if they are here.
Text look_at(PlayerSession& s, const std::string& who) {
  Text t;
  auto name = player_arg(who, t);
  if (!name) return t;
  Player p = s.me();
  if (*name != s.name()) {
    auto stored = s.store().get(keys::player(*name));
    if (!stored.ok()) return s.storage_trouble(stored.status(), "");
    Result<Player> decoded = stored->has_value()
                                 ? decode_player(**stored)
                                 : Status(ErrorCode::kNotFound, "no record");
    if (!decoded.ok()) {
      no_such_student(t, *name);
      return t;
    }
    if (decoded->place != s.me().place) {
      t.line("You do not see " + *name + " here.");
      return t;
    }
    s.remember_player(*name);
    p = std::move(*decoded);
  }
  t.add(p.name, Style::kPlayer)
      .add(", " + std::string(rank_info(p.rank).name))
      .line(".");
  bool any = false;
  for (size_t i = 0; i < kHardwareCount; ++i) {
    if (p.hardware[i] <= 0) continue;
    t.add(any ? ", " : "Carries ")
        .add(with_commas(p.hardware[i]) + " " + hardware_name(i, p.hardware[i]),
             Style::kItem);
    any = true;
  }
  t.line(any ? " (power " + with_commas(total_power(p.hardware)) + ")."
             : "Carries nothing but a pencil.");
  return t;
}

Text cmd_look(PlayerSession& s, const Args& args) {
  if (!args.empty()) return look_at(s, args[0]);
  const PlaceInfo* place = find_place(s.me().place);
  Text t;
  t.line(capitalized(std::string(place->name)), Style::kPlace);
  t.line(std::string(place->description));
  t.line("Exits: " + exits_phrase(place->id) + ".", Style::kDim);
  auto players = s.store().list(keys::player_prefix());
  if (!players.ok()) return t.append(s.storage_trouble(players.status(), ""));
  auto seen = s.store().list(keys::seen_prefix());
  if (!seen.ok()) return t.append(s.storage_trouble(seen.status(), ""));
  s.remember_players(*players, keys::player_prefix());
  return t.append(who_is_here(s, *players, *seen));
}

}  // namespace cmud::game
