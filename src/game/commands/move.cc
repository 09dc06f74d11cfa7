// move: walking from place to place.
#include "command.h"

#include <cstddef>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_move(PlayerSession& s, const Args& args) {
  Text t;
  if (args.empty()) {
    t.line("Move where? Try map, or move <place>.");
    return t;
  }
  std::string want = ascii_lower(args[0]);
  std::vector<const PlaceInfo*> matches;
  for (const auto& p : places()) {
    if (p.id == want) {
      matches = {&p};
      break;
    }
    if (p.id.substr(0, want.size()) == want ||
        ascii_lower(p.name).find(want) != std::string::npos) {
      matches.push_back(&p);
    }
  }
  if (matches.size() != 1) {
    t.add(matches.empty() ? "There is no such place. " : "Which one? ");
    t.add("Places:");
    for (const auto& p : places())
      t.add(" ").add(std::string(p.id), Style::kPlace);
    t.line(".");
    return t;
  }
  const PlaceInfo* to = matches[0];
  if (to->id == s.me().place) {
    t.line("You are already at " + std::string(to->name) + ".");
    return t;
  }
  std::string from = s.me().place;
  Player next = s.me();
  next.place = std::string(to->id);
  if (Status status = s.save(next); !status.ok()) {
    return s.storage_trouble(status, "You stay where you are.");
  }
  (void)s.post(from, "leaves for " + std::string(to->name) + ".", true);
  (void)s.post(to->id, "arrives from " + place_name(from) + ".", true);
  (void)s.heartbeat();
  s.listen_from_now();
  t.add("You walk to ").add(std::string(to->name), Style::kPlace).line(".");
  return t.append(cmd_look(s, {}));
}

std::vector<std::string> complete_move(const PlayerSession&, size_t index) {
  std::vector<std::string> ids;
  if (index == 1) {
    for (const auto& p : places()) ids.emplace_back(p.id);
  }
  return ids;
}

}  // namespace cmud::game
