// move: walking from place to place.
#include "command.h"

#include <cstddef>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

namespace {

// Walks along one path to `to` (a neighbour).
Text walk(PlayerSession& s, std::string_view to) {
  Text t;
  std::string from = s.me().place;
  Player next = s.me();
  next.place = std::string(to);
  if (Status status = s.save(next); !status.ok()) {
    return s.storage_trouble(status, "You stay where you are.");
  }
  (void)s.post(from, "leaves for " + place_name(to) + ".", true);
  (void)s.post(to, "arrives from " + place_name(from) + ".", true);
  (void)s.heartbeat();
  s.listen_from_now();
  t.add("You walk to ").add(place_name(to), Style::kPlace).line(".");
  return t.append(cmd_look(s, {}));
}

}  // namespace

Text cmd_move(PlayerSession& s, const Args& args) {
  Text t;
  if (args.empty()) {
    t.line("Move where? From here: " + exits_phrase(s.me().place) + ".");
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
  for (const Exit& e : exits(s.me().place)) {
    if (e.to == to->id) return walk(s, to->id);
  }
  // Not next to here: show the way, one path at a time.
  std::string way;
  std::string_view at = s.me().place;
  for (std::string_view step : route(at, to->id)) {
    for (const Exit& e : exits(at)) {
      if (e.to != step) continue;
      if (!way.empty()) way += ", then ";
      way += std::string(e.direction) + " to " + place_name(step);
    }
    at = step;
  }
  t.line(capitalized(std::string(to->name)) +
         " is not next to here. The way: " + way + ".");
  return t;
}

Text cmd_go(PlayerSession& s, const Args&) {
  // The command word names the direction (n, north, ...).
  auto words = split_words(s.line());
  std::string word = words.empty() ? "" : ascii_lower(words[0]);
  std::string_view direction;
  for (std::string_view d : kDirections) {
    if (d == word || d.substr(0, 1) == word) direction = d;
  }
  for (const Exit& e : exits(s.me().place)) {
    if (e.direction == direction) return walk(s, e.to);
  }
  Text t;
  t.line("You cannot go " + std::string(direction) +
         " from here. Exits: " + exits_phrase(s.me().place) + ".");
  return t;
}

std::vector<std::string> complete_move(const PlayerSession&, size_t index) {
  std::vector<std::string> ids;
  if (index == 1) {
    for (const auto& p : places()) ids.emplace_back(p.id);
  }
  return ids;
}

}  // namespace cmud::game
